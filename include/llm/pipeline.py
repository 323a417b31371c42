"""The run's lake I/O around the pure modules: what :mod:`include.llm.steps` calls.

Per run (``curated/llm_fine_tuning/runs/<run>/``)::

    data/train_blocks.parquet     packed training blocks (input_ids lists)
    data/heldout_blocks.parquet   the held-out texts packed the same way (with the run's tokenizer)
    data/heldout_texts.parquet    the held-out texts themselves (the champion is scored on them too)
    data/tokenizer/               tokenizer.json + config (save_pretrained)
    checkpoints/step-<n>/         model.safetensors + state.pt;  checkpoints/latest.json
    model/                        the trained model (save_pretrained, safetensors) + tokenizer

Reports: ``reports/llm_fine_tuning/v<version>/report.md`` + ``evaluation.json``. Quarantine:
``quarantine/llm_fine_tuning/<day>/<corpus file stem>.jsonl``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.llm import DAG_ID, MODEL_NAME, corpus, packing
from include.llm import tokenizer as tok_mod
from include.platform.errors import ConfigError

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from include.llm.config import FineTuneConfig

log = logging.getLogger(__name__)


def run_folder(run_id: str, *parts: str) -> ObjectStoragePath:
    from include.platform import runs

    return runs.run_path("curated", DAG_ID, run_id, *parts)


def upload_dir(local: str | Path, dest: ObjectStoragePath) -> list[str]:
    from include.platform import storage

    names = []
    for path in sorted(Path(local).rglob("*")):
        if path.is_file():
            rel = path.relative_to(local).as_posix()
            storage.upload_file(path, dest / rel)
            names.append(rel)
    return names


def download_dir(src: ObjectStoragePath, local: str | Path) -> Path:
    """Every file directly under ``src`` into ``local`` (flat folders: tokenizer, model)."""
    from include.platform import paths, storage

    files = storage.list_files(src)
    if not files:
        raise FileNotFoundError(f"nothing under {src}")
    Path(local).mkdir(parents=True, exist_ok=True)
    for path in files:
        paths.safe_local_join(local, path.name).write_bytes(storage.read_bytes(path))
    return Path(local)


# ------------------------------------------------------------------------------------------------- prepare
def prepare(cfg: FineTuneConfig, day: date, run_id: str) -> dict[str, Any]:
    """Read and validate the corpus (quarantine), get the tokenizer, pack train and held-out blocks."""
    import pandas as pd

    from include.llm import validate
    from include.platform import quarantine, runs, storage

    docs, rejected = corpus.read_corpus(cfg.corpus_key)
    checked = validate.validate(docs, cfg.min_chars, cfg.max_chars, rejected)
    q_name = runs.slug(cfg.corpus_key.rsplit(".", 1)[0].replace("/", "_"), "corpus")
    q_uri = quarantine.write_rejected(DAG_ID, day, q_name, checked.quarantined)
    texts = checked.valid["text"].tolist()
    if cfg.max_docs and len(texts) > cfg.max_docs:
        texts = checked.valid.sample(n=cfg.max_docs, random_state=cfg.seed).sort_index()["text"].tolist()
    train_texts, held_texts = packing.split(texts, cfg.heldout_share)
    if not train_texts or not held_texts:
        raise ConfigError(f"{len(texts)} valid documents cannot be split into training and held-out texts",
                          "use a larger corpus (or raise max_docs)")
    folder = run_folder(run_id, "data")
    with tempfile.TemporaryDirectory() as tmp:
        if cfg.local:
            tokenizer = tok_mod.train_bpe(train_texts, cfg.vocab_size)
            tokenizer_from = "trained on the corpus (byte-level BPE)"
        else:
            from include.llm import modeling

            path, version = modeling.resolve_base(cfg.base_model, cache_dir=tmp)
            tokenizer = tok_mod.load(path) if Path(path).exists() else tok_mod.load_hub(path)
            tokenizer_from = version
        tokenizer.save_pretrained(Path(tmp) / "tokenizer")
        upload_dir(Path(tmp) / "tokenizer", folder / "tokenizer")
    train_blocks = packing.pack_texts(tokenizer, train_texts, cfg.block_size)
    held_blocks = packing.pack_texts(tokenizer, held_texts, cfg.block_size)
    if len(train_blocks) == 0 or len(held_blocks) == 0:
        raise ConfigError(f"the corpus packs into {len(train_blocks)} training and {len(held_blocks)} held-out "
                          f"blocks of {cfg.block_size} tokens", "use more documents or a smaller block_size")
    storage.write_parquet(folder / "train_blocks.parquet", packing.to_frame(train_blocks))
    storage.write_parquet(folder / "heldout_blocks.parquet", packing.to_frame(held_blocks))
    storage.write_parquet(folder / "heldout_texts.parquet", pd.DataFrame({"text": held_texts}))
    out = {"data_uri": str(folder), "documents": len(docs) + len(rejected), "valid": len(checked.valid),
           "quarantined": len(checked.quarantined), "quarantine_uri": q_uri, "train_docs": len(train_texts),
           "heldout_docs": len(held_texts), "train_blocks": len(train_blocks), "heldout_blocks": len(held_blocks),
           "train_tokens": int(train_blocks.size), "vocab_size": len(tokenizer), "tokenizer": tokenizer_from,
           "expectations": checked.results}
    log.info("corpus %s: %d documents, %d valid, %d quarantined; %d train / %d held-out blocks of %d tokens; "
             "vocabulary %d", cfg.corpus_key, out["documents"], out["valid"], out["quarantined"],
             out["train_blocks"], out["heldout_blocks"], cfg.block_size, out["vocab_size"])
    return out


# ---------------------------------------------------------------------------------------------------- train
def base_model(cfg: FineTuneConfig, tokenizer: Any, cache_dir: str) -> Any:
    """The model training starts from: a fresh tiny GPT-2, or the registry/hub base (checked against the block)."""
    return base_model_and_version(cfg, tokenizer, cache_dir)[0]


def base_model_and_version(cfg: FineTuneConfig, tokenizer: Any, cache_dir: str) -> tuple[Any, str]:
    """:func:`base_model` and what it resolved to (``textgen/3``, ``hf:gpt2``, ``local:tiny-gpt2 seed 7``): a
    LoRA checkpoint holds adapters only, so a resume must start from the very same base."""
    from include.llm import modeling

    if cfg.local:
        return modeling.tiny_gpt2(cfg, len(tokenizer), tokenizer.eos_token_id), f"{cfg.base_model} seed {cfg.seed}"
    path, version = modeling.resolve_base(cfg.base_model, cache_dir=cache_dir)
    model = modeling.load_pretrained(path)
    if modeling.context_length(model) < cfg.block_size:
        raise ConfigError(f"block_size {cfg.block_size} > {cfg.base_model}'s context "
                          f"({modeling.context_length(model)})", "lower block_size")
    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
    return model, version


def train_on_blocks(cfg: FineTuneConfig, blocks: Any, tokenizer: Any, out_dir: Path, cache_dir: str,
                    ckpt_root: ObjectStoragePath | None, crash_after: int | None = None) -> dict[str, Any]:
    """Train from ``blocks`` and save the model + tokenizer into ``out_dir``: the one training routine the
    local ``train`` task and every cloud container (:mod:`include.llm.cloud_entry`) run."""
    from include.llm import adapters, modeling, training

    threads = modeling.set_threads(cfg.threads)
    device = modeling.pick_device(cfg.device)
    amp = modeling.autocast_dtype(cfg.precision, device)
    model, base_version = base_model_and_version(cfg, tokenizer, cache_dir)
    parameters = modeling.parameter_count(model)
    adapter = adapters.plan(cfg, parameters)
    log.info("training %s (%d parameters) on %d blocks x %d tokens: %d steps of %d blocks, %s, %s, %d threads; %s",
             cfg.base_model, parameters, len(blocks), blocks.shape[1], cfg.max_steps,
             cfg.batch_size, device, "bf16 autocast" if amp is not None else "fp32", threads, adapter.reason)
    if adapter.lora:
        model = adapters.wrap(model, cfg)
    trainable = adapters.trainable_count(model)
    result = training.train(
        model, blocks, max_steps=cfg.max_steps, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        checkpoint_every=cfg.checkpoint_every, log_every=cfg.log_every, seed=cfg.seed, device=device,
        amp_dtype=amp, ckpt_root=ckpt_root, warmup_share=cfg.WARMUP_SHARE,
        weight_decay=cfg.WEIGHT_DECAY, grad_clip=cfg.GRAD_CLIP, crash_after=crash_after, base=base_version)
    model = adapters.merge(model)  # the registry stores plain weights: serving never needs peft
    model.config.genai_block_size = cfg.block_size
    model.to("cpu").save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return {"steps": result.final_step, "steps_run": result.steps_run,
            "resumed_from": result.resumed_from, "train_seconds": round(result.seconds, 3),
            "train_tokens_per_s": round(result.tokens_per_s, 1), "precision": result.precision, "device": device,
            "final_loss": result.losses[-1][1] if result.losses else None, "losses": result.losses,
            "parameters": modeling.parameter_count(model), "trainable_parameters": trainable,
            "adapter": (f"lora r={cfg.lora_rank} alpha={cfg.lora_alpha}" if adapter.lora else "full"),
            "adapter_reason": adapter.reason}


def train(cfg: FineTuneConfig, prepared: dict[str, Any], run_id: str, crash_after: int | None = None) -> dict[str, Any]:
    """Train from the run's blocks with checkpoints under the run's folder (a retry resumes); save the model."""
    from include.platform import storage

    data = storage.path_from_uri(prepared["data_uri"], "curated")
    blocks = packing.from_frame(storage.read_parquet(data / "train_blocks.parquet"))
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = tok_mod.load(str(download_dir(data / "tokenizer", Path(tmp) / "tokenizer")))
        out_dir = Path(tmp) / "model"
        info = train_on_blocks(cfg, blocks, tokenizer, out_dir, tmp, run_folder(run_id, "checkpoints"), crash_after)
        model_uri = run_folder(run_id, "model")
        upload_dir(out_dir, model_uri)
    return {"model_uri": str(model_uri), "backend": "local"} | info


def fetch_cloud_model(artifact_uri: str, conn_id: str | None, run_id: str, job: str) -> dict[str, Any]:
    """A cloud job's ``model.tar.gz`` → the run's ``model/`` folder in the lake; what ``train`` returns.

    The archive is untrusted input: members are extracted with tarfile's ``data`` filter (no links, devices,
    absolute paths or ``..``) and each name goes through the path guard; the folder must hold a loadable
    model (``config.json``, ``model.safetensors``, ``tokenizer.json``) and the entry point's ``training.json``.
    """
    import tarfile

    from airflow.sdk import ObjectStoragePath

    from include.platform import paths, storage

    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "model.tar.gz"
        archive.write_bytes(storage.read_bytes(ObjectStoragePath(artifact_uri, conn_id=conn_id)))
        out_dir = Path(tmp) / "model"
        out_dir.mkdir()
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ConfigError(f"{artifact_uri}: member {member.name!r} is not a regular file",
                                      "the training container must write plain files into the model folder")
                paths.safe_local_join(out_dir, member.name)  # the guard refuses '..' and absolute names
                tar.extract(member, out_dir, filter="data")
        return _register_cloud_model_dir(out_dir, artifact_uri, run_id, job)


def _register_cloud_model_dir(out_dir: Path, source: str, run_id: str, job: str) -> dict[str, Any]:
    """A cloud job's model folder (local copy) checked and uploaded as the run's ``model/``."""
    from include.llm.cloud import TRAINING_INFO

    files = {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()}
    missing = {"config.json", "model.safetensors", "tokenizer.json", TRAINING_INFO} - files
    if missing:
        raise ConfigError(f"{source} lacks {sorted(missing)} (has {sorted(files)})",
                          "the job must run python -m include.llm.cloud_entry, which writes them")
    info = json.loads((out_dir / TRAINING_INFO).read_text())
    (out_dir / TRAINING_INFO).unlink()
    model_uri = run_folder(run_id, "model")
    upload_dir(out_dir, model_uri)
    log.info("fetched %s (%d files) from job %s: %s steps, final loss %s", source, len(files), job,
             info.get("steps"), info.get("final_loss"))
    return {"model_uri": str(model_uri), "artifact_uri": source, "job": job} | info


def fetch_cloud_model_folder(folder_uri: str, run_id: str, job: str) -> dict[str, Any]:
    """A Vertex AI / Azure ML job's model folder, written into the lake by the container (mounted storage),
    → the run's ``model/`` folder; what ``train`` returns. The folder must lie inside the lake (it comes
    from the job's description, i.e. from outside) and hold what the entry point writes."""
    from include.platform import storage

    folder = storage.path_from_uri(folder_uri, "curated")
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = download_dir(folder, Path(tmp) / "model")
        return _register_cloud_model_dir(out_dir, folder_uri, run_id, job)


# ------------------------------------------------------------------------------------------------- evaluate
def load_model_dir(folder: str | Path) -> tuple[Any, Any]:
    from include.llm import modeling

    return modeling.load_pretrained(str(folder)), tok_mod.load(str(folder))


def score(model: Any, tokenizer: Any, texts: list[str], cfg: FineTuneConfig, device: str,
          generations: bool = True) -> dict[str, Any]:
    """Perplexities on the held-out texts + the generation metrics; the generations under ``"generations"``."""
    from include.llm import evaluation, modeling

    block = min(cfg.block_size, int(getattr(model.config, "genai_block_size", cfg.block_size)),
                modeling.context_length(model))
    ppl = evaluation.perplexity(model, tokenizer, texts, block, cfg.max_eval_blocks, device)
    if not generations:
        return ppl
    gens = evaluation.generate(model, tokenizer, cfg.PROMPTS, cfg.max_new_tokens, device,
                               temperature=cfg.eval_temperature, top_p=cfg.eval_top_p, samples=cfg.eval_samples,
                               seed=cfg.seed)
    return ppl | evaluation.generation_metrics(gens) | {"generations": gens}


def by_prompt(cfg: FineTuneConfig, generations: list[str]) -> dict[str, list[str]]:
    """The flat list of generations (``samples`` per prompt, prompt by prompt) keyed by fixed prompt."""
    per = max(1, len(generations) // max(1, len(cfg.PROMPTS)))
    return {p: generations[i * per:(i + 1) * per] for i, p in enumerate(cfg.PROMPTS)}


def evaluate(cfg: FineTuneConfig, prepared: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
    """Challenger and champion on the same held-out texts; register the challenger with its numbers."""
    from include.llm import modeling
    from include.platform import lifecycle, registry, storage

    modeling.set_threads(cfg.threads)
    device = modeling.pick_device(cfg.device)
    data = storage.path_from_uri(prepared["data_uri"], "curated")
    texts = storage.read_parquet(data / "heldout_texts.parquet")["text"].tolist()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        local = download_dir(storage.path_from_uri(trained["model_uri"], "curated"), Path(tmp) / "model")
        model, tokenizer = load_model_dir(local)
        challenger = score(model, tokenizer, texts, cfg, device)
        base = base_model(cfg, tokenizer, tmp)  # what training started from, scored the same way
        base_ppl = score(base, tokenizer, texts, cfg, device, generations=False)
        champion = None
        ref = registry.aliases(MODEL_NAME).get("champion")
        if ref:
            mv, champ_dir = registry.download(f"{MODEL_NAME}@champion", cache_dir=Path(tmp) / "champion")
            champ_model, champ_tok = load_model_dir(champ_dir)
            scored = score(champ_model, champ_tok, texts, cfg, device)
            champion = {"ref": mv.ref, "version": mv.version} | {
                k: v for k, v in scored.items() if k != "generations"} | {"generations": scored["generations"]}
        metrics = {k: v for k, v in challenger.items() if k != "generations"} | {
            "perplexity_untrained": base_ppl["perplexity"], "perplexity_word_untrained": base_ppl["perplexity_word"],
            "train_steps": float(trained["steps"]), "train_seconds": float(trained["train_seconds"]),
            "train_tokens_per_s": float(trained["train_tokens_per_s"]), "parameters": float(trained["parameters"]),
            "heldout_docs": float(prepared["heldout_docs"]), "train_tokens": float(prepared["train_tokens"]),
            "eval_seconds": round(time.perf_counter() - started, 3)}
        (local / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
        mv = lifecycle.register(MODEL_NAME, local, registered_by=f"{DAG_ID}.evaluate", metrics=metrics, metadata={
            "base_model": cfg.base_model, "tokenizer": prepared["tokenizer"], "corpus_key": cfg.corpus_key,
            "corpus_license": corpus.LICENSE if cfg.corpus_key.startswith("womens_clothing") else None,
            "data_uri": prepared["data_uri"], "precision": trained["precision"], "device": trained["device"],
            "resumed_from": trained["resumed_from"], "config": cfg.as_dict(), "losses": trained["losses"],
            "training_backend": trained.get("backend", "local"), "training_job": trained.get("job"),
            "training_artifact": trained.get("artifact_uri"), "adapter": trained.get("adapter", "full"),
            "trainable_parameters": trained.get("trainable_parameters"),
            "generations": by_prompt(cfg, challenger["generations"]),
            "champion_at_evaluation": champion})
    evaluated = {"version": mv.version, "metrics": metrics, "champion": champion,
                 "generations": challenger["generations"]}
    evaluated["report_uri"] = write_report(mv.version, evaluated, cfg)
    log.info("%s/%s: held-out perplexity %.2f (word %.2f; untrained %.2f), repetition %.3f, distinct-2 %.3f%s",
             MODEL_NAME, mv.version, metrics["perplexity"], metrics["perplexity_word"],
             metrics["perplexity_untrained"], metrics["repetition_rate"], metrics["distinct_2"],
             f"; champion {champion['ref']} word perplexity {champion['perplexity_word']:.2f}" if champion else "")
    return evaluated


def write_report(version: str, evaluated: dict[str, Any], cfg: FineTuneConfig) -> str:
    """``reports/llm_fine_tuning/v<version>/report.md`` + ``evaluation.json``; the folder's URI."""
    from include.platform import storage

    m, champ = evaluated["metrics"], evaluated["champion"]
    lines = [f"# {MODEL_NAME}/{version}", "",
             f"Base `{cfg.base_model}`, corpus `raw/llm_corpus/{cfg.corpus_key}`, {int(m['train_steps'])} steps "
             f"in {m['train_seconds']:.0f} s ({m['train_tokens_per_s']:.0f} tokens/s).", "",
             "| held-out | challenger | champion | untrained |", "|---|---|---|---|",
             f"| perplexity (per token) | {m['perplexity']:.2f} | {champ['perplexity'] if champ else float('nan'):.2f} "
             f"| {m['perplexity_untrained']:.2f} |",
             f"| perplexity (per word) | {m['perplexity_word']:.2f} | "
             f"{champ['perplexity_word'] if champ else float('nan'):.2f} | {m['perplexity_word_untrained']:.2f} |",
             f"| repetition rate | {m['repetition_rate']:.3f} | {champ['repetition_rate'] if champ else float('nan'):.3f} | |",
             f"| distinct-2 | {m['distinct_2']:.3f} | {champ['distinct_2'] if champ else float('nan'):.3f} | |",
             "", f"## Sampled generations (temperature {cfg.eval_temperature}, top-p {cfg.eval_top_p}, "
             f"seed {cfg.seed})", ""]
    lines += [f"- **{p}** → " + " · ".join(repr(g) for g in gens)
              for p, gens in by_prompt(cfg, evaluated["generations"]).items()]
    folder = storage.lake_path("reports", DAG_ID, f"v{version}")
    storage.write_text(folder / "report.md", "\n".join(lines) + "\n")
    storage.write_json(folder / "evaluation.json", evaluated)
    return str(folder)
