"""The run's lake and warehouse I/O around the pure modules: what :mod:`include.textgen.steps` calls.

* ``curated/text_generation/runs/<run>/prompts.parquet`` — the run's valid prompts, sorted by length (:func:`prepare`);
* ``curated/text_generation/runs/<run>/outputs/chunk-<n>.parquet`` — raw generations (:func:`generate_chunk`);
* ``curated/text_generation/runs/<run>/judged.parquet`` — every output with its gate verdict (:func:`publish`);
* ``quarantine/text_generation/<day>/prompts[-form].jsonl`` — rejected prompt lines (:func:`prepare`);
* ``quarantine/text_generation/<day>/outputs-<version>[-form].jsonl`` — outputs the gate refused (:func:`publish`);
* warehouse ``generated_text``, key ``(prompt_id, model_version)`` (:func:`publish`);
* ``reports/text_generation/<day>/<version>/report.md`` + ``distributions.png`` (:func:`build_report`).

``-form``: runs with ``read_lake`` off keep their own quarantine files, so they never replace the day's.

Every valid prompt ends in exactly one place: a row of ``generated_text`` or a line of the day's output
quarantine (with the gate's reasons). A rerun replaces both: a prompt whose output now fails the gate
loses its earlier row for the same model version.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.textgen import DAG_ID, TABLE, TABLE_KEY

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import ObjectStoragePath

    from include.textgen.config import GenerationConfig

log = logging.getLogger(__name__)

PROMPT_COLUMNS = ["prompt_id", "prompt", "source_file", "line", "meta"]
RESULT_COLUMNS = ["prompt_id", "model_version", "backend", "prompt", "text", "chars", "n_prompt_tokens",
                  "n_new_tokens", "prompt_truncated", "finish_reason", "postprocess", "perplexity", "repetition",
                  "reference_model", "temperature", "top_p", "seed", "prompt_date", "source_file", "line",
                  "generated_at"]


def run_folder(run_id: str, *parts: str) -> ObjectStoragePath:
    from include.platform import runs

    return runs.run_path("curated", DAG_ID, run_id, *parts)


def quarantine_name(base: str, cfg: GenerationConfig) -> str:
    """``base`` for runs that read the day's files, ``base-form`` for form-only runs (``read_lake`` off)."""
    return base if cfg.read_lake else f"{base}-form"


def resolve_versions(cfg: GenerationConfig) -> tuple[str, str]:
    """(the generating model's version, the reference model's version or "") — resolved once per run.

    A missing ``textgen@champion`` raises the registry's ``MissingModelError`` (a permanent error naming
    DAG ``llm_fine_tuning``): the run fails at once, before anything is read.
    """
    from include.platform import registry

    version = cfg.llm_version if cfg.llm else registry.resolve(cfg.model).ref
    reference = registry.resolve(cfg.reference_model).ref if cfg.reference_model else ""
    return version, reference


# ------------------------------------------------------------------------------------------------- prepare
def prepare(cfg: GenerationConfig, day: date, run_id: str) -> dict[str, Any]:
    """Resolve the models, read and validate the day's prompts (quarantine), cut the valid ones into chunks."""
    import pandas as pd

    from include.platform import quarantine, storage
    from include.textgen import prompts

    version, reference = resolve_versions(cfg)
    files = []
    if cfg.read_lake:
        files = storage.read_files(storage.lake_path(prompts.ZONE, prompts.PREFIX, day.isoformat()), ".jsonl")
    read = prompts.read_prompts(files, cfg.prompt, cfg.min_prompt_chars, cfg.max_prompt_chars)
    # A form-only run keeps its own quarantine names, so it never replaces the day's file verdicts.
    q_uri = quarantine.write_rejected(DAG_ID, day, quarantine_name("prompts", cfg),
                                      [q | {"run_date": day.isoformat()} for q in read.quarantined])
    frame = pd.DataFrame([p.as_row() for p in read.valid], columns=PROMPT_COLUMNS)
    frame["line"] = frame["line"].astype("Int64")
    # Sorted by length: each chunk (and each batch inside it) holds prompts of similar length.
    frame = frame.assign(_len=frame["prompt"].str.len()).sort_values(["_len", "prompt_id"], kind="stable")
    frame = frame.drop(columns="_len").reset_index(drop=True)
    uri = run_folder(run_id, "prompts.parquet")
    storage.write_parquet(uri, frame)
    chunks = [{"uri": str(uri), "start": s, "stop": min(s + cfg.chunk_size, len(frame)),
               "label": f"prompts {s}-{min(s + cfg.chunk_size, len(frame)) - 1}", "model_version": version}
              for s in range(0, len(frame), cfg.chunk_size)]
    info = {"day": day.isoformat(), "files": len(files), "lines": read.lines, "blank": read.blank,
            "valid": len(frame), "quarantined": len(read.quarantined), "quarantine_uri": q_uri,
            "prompts_uri": str(uri), "model_version": version, "reference_model": reference,
            "backend": cfg.backend, "chunks": chunks}
    log.info("prompts %s: %d files, %d lines, %d valid, %d quarantined; model %s, reference %s, %d chunks",
             day, len(files), read.lines, len(frame), len(read.quarantined), version, reference or "-", len(chunks))
    return info


def read_chunk(chunk: dict[str, Any]) -> pd.DataFrame:
    from include.platform import storage

    frame = storage.read_parquet(storage.path_from_uri(chunk["uri"], "curated"))
    return frame.iloc[chunk["start"]:chunk["stop"]].reset_index(drop=True)


def load_registry_model(ref: str, cache_dir: str | Path) -> tuple[Any, Any]:
    """(model, tokenizer) of a ``textgen`` registry version (sha256-verified download, vocabulary checked)."""
    from include.llm.pipeline import load_model_dir
    from include.platform import registry

    _, local = registry.download(ref, cache_dir=cache_dir)
    return load_model_dir(local)


# ----------------------------------------------------------------------------------------------- generate
def generate_chunk(cfg: GenerationConfig, chunk: dict[str, Any], run_id: str) -> str:
    """One chunk through the registry model (batched, left-padded, KV cache); its rows' URI."""
    import pandas as pd

    from include.llm import modeling
    from include.platform import storage
    from include.textgen import generate

    threads = modeling.set_threads(cfg.threads)
    device = modeling.pick_device("auto")
    rows = read_chunk(chunk)
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer = load_registry_model(chunk["model_version"], tmp)
    started = time.perf_counter()
    gens = generate.generate(model, tokenizer, rows["prompt"].tolist(), max_new_tokens=cfg.max_new_tokens,
                             temperature=cfg.temperature, top_p=cfg.top_p, seed=cfg.seed,
                             batch_size=cfg.batch_size, device=device, index_offset=int(chunk["start"]))
    seconds = time.perf_counter() - started
    new_tokens = sum(g.n_new_tokens for g in gens)
    log.info("%s: %d prompts, %d new tokens in %.2fs (%.0f tokens/s, %s, %d threads, batch %d)", chunk["label"],
             len(rows), new_tokens, seconds, new_tokens / max(seconds, 1e-9), device, threads, cfg.batch_size)
    out = pd.DataFrame({"prompt_id": rows["prompt_id"], "raw_text": [g.text for g in gens],
                        "n_prompt_tokens": [g.n_prompt_tokens for g in gens],
                        "n_new_tokens": [g.n_new_tokens for g in gens],
                        "prompt_truncated": [g.prompt_truncated for g in gens],
                        "finish_reason": [g.finish_reason for g in gens]})
    uri = run_folder(run_id, "outputs", f"chunk-{chunk['start']:07d}.parquet")
    storage.write_parquet(uri, out)
    return str(uri)


def llm_prompt(chunk: dict[str, Any]) -> tuple[str, int]:
    from include.textgen.hosted import build_prompt

    rows = read_chunk(chunk)
    return build_prompt(rows.to_dict("records")), len(rows)


def llm_rows(chunks: list[dict[str, Any]], outputs: list[Any]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Raw generations from the mapped hosted-LLM outputs (map index i answers chunk i), and the gaps."""
    import pandas as pd

    from include.textgen.hosted import parse_output

    frames, missing = [], []
    for chunk, output in zip(chunks, outputs, strict=True):
        ids = read_chunk(chunk)["prompt_id"].tolist()
        texts, problems = parse_output(output, ids)
        for p in problems:
            if p["prompt_id"] in ids and p["prompt_id"] not in texts:
                missing.append(p)
            else:
                log.warning("%s: %s (%s)", chunk["label"], p["reason"], p["prompt_id"])
        frames.append(pd.DataFrame({"prompt_id": list(texts), "raw_text": list(texts.values())}))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["prompt_id", "raw_text"])
    # A hosted model reports no per-item token counts.
    unknown = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    frame = frame.assign(n_prompt_tokens=unknown, n_new_tokens=unknown, prompt_truncated=False, finish_reason="llm")
    return frame, missing


def read_generations(uris: list[str]) -> pd.DataFrame:
    import pandas as pd

    from include.platform import storage

    frames = [storage.read_parquet(storage.path_from_uri(u, "curated")) for u in uris]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["prompt_id", "raw_text"])


# ------------------------------------------------------------------------------------------------ publish
def judge(frame: pd.DataFrame, cfg: GenerationConfig, reference: str) -> pd.DataFrame:
    """Post-process, score perplexity under ``reference`` and apply the gate; adds text, reasons and numbers."""
    from include.textgen import generate, postprocess, quality

    cleaned = [postprocess.clean(t or "", cfg.stop_sequences) for t in frame["raw_text"].fillna("")]
    frame = frame.assign(text=[c.text for c in cleaned], postprocess=[",".join(c.steps) for c in cleaned])
    perplexities: list[float | None] = [None] * len(frame)
    if reference and len(frame):
        from include.llm import modeling

        modeling.set_threads(cfg.threads)
        with tempfile.TemporaryDirectory() as tmp:
            model, tokenizer = load_registry_model(reference, tmp)
        perplexities = generate.conditional_perplexity(model, tokenizer, frame["prompt"].tolist(),
                                                       frame["text"].tolist(), batch_size=cfg.batch_size)
    rules = quality.GateRules(cfg.min_chars, cfg.max_chars, cfg.max_repetition,
                              cfg.max_perplexity if reference else None, tuple(cfg.banned_terms))
    banned = quality.banned_pattern(rules.banned_terms)
    frame = frame.assign(perplexity=perplexities, repetition=[quality.repetition(t) for t in frame["text"]])
    frame["reasons"] = [quality.reasons(t, p, rules, banned) for t, p in zip(frame["text"], perplexities,
                                                                                strict=True)]
    frame["perplexity"] = frame["perplexity"].astype("float64")
    return frame


def publish(cfg: GenerationConfig, day: date, prepared: dict[str, Any], generations: pd.DataFrame,
            missing: list[dict[str, Any]]) -> dict[str, Any]:
    """Gate the run's generations; upsert the passing ones into ``generated_text``, quarantine the rest."""
    import pandas as pd

    from include.platform import quarantine, runs, storage, warehouse

    version, reference = prepared["model_version"], prepared["reference_model"]
    prompts = storage.read_parquet(storage.path_from_uri(prepared["prompts_uri"], "curated"))
    frame = prompts.merge(generations, on="prompt_id", how="inner", validate="one_to_one")
    judged = judge(frame, cfg, reference)
    passed = judged[judged["reasons"].str.len() == 0]
    failed = judged[judged["reasons"].str.len() > 0]
    by_id = prompts.set_index("prompt_id")
    q_rows = [{"source_file": r["source_file"], "line": None if pd.isna(r["line"]) else int(r["line"]),
               "reason": "; ".join(r["reasons"]), "prompt_id": r["prompt_id"], "prompt": r["prompt"],
               "text": r["text"], "perplexity": r["perplexity"], "model_version": version,
               "run_date": day.isoformat()} for r in failed.to_dict("records")]
    for m in missing:
        src = by_id.loc[m["prompt_id"]]
        q_rows.append({"source_file": src["source_file"], "line": None if pd.isna(src["line"]) else int(src["line"]),
                       "reason": m["reason"], "prompt_id": m["prompt_id"], "prompt": src["prompt"], "text": None,
                       "perplexity": None, "model_version": version, "run_date": day.isoformat()})
    q_uri = quarantine.write_rejected(DAG_ID, day, quarantine_name(f"outputs-{runs.slug(version)}", cfg), q_rows)

    now = pd.Timestamp(datetime.now(UTC)).tz_localize(None)
    out = passed.assign(model_version=version, backend=cfg.backend, chars=passed["text"].str.len().astype("int64"),
                        reference_model=reference, temperature=float(cfg.temperature), top_p=float(cfg.top_p),
                        seed=int(cfg.seed), prompt_date=day.isoformat(), generated_at=now)[RESULT_COLUMNS].copy()
    for col in ("n_prompt_tokens", "n_new_tokens", "line"):
        out[col] = out[col].astype("Int64")
    out["prompt_truncated"] = out["prompt_truncated"].astype(bool)
    for col in ("perplexity", "repetition", "temperature", "top_p"):
        out[col] = out[col].astype("float64")
    failing_ids = [r["prompt_id"] for r in q_rows]
    if failing_ids and warehouse.table_exists(TABLE):
        # A prompt that fails now must not keep an earlier run's row for the same version.
        marks = ", ".join("?" for _ in failing_ids)
        warehouse.execute(f"DELETE FROM {TABLE} WHERE model_version = ? AND prompt_id IN ({marks})",
                          [version, *failing_ids])
    written = warehouse.replace_rows(TABLE, out, list(TABLE_KEY)) if len(out) else 0
    run_uri = storage.path_from_uri(prepared["prompts_uri"], "curated").parent / "judged.parquet"
    storage.write_parquet(run_uri, judged.assign(reasons=judged["reasons"].map("; ".join)).drop(
        columns=["meta"], errors="ignore"))
    summary = {"model_version": version, "reference_model": reference, "backend": cfg.backend,
               "valid_prompts": len(prompts), "published": written, "quarantined_outputs": len(q_rows),
               "output_quarantine_uri": q_uri, "judged_uri": str(run_uri)}
    log.info("%s %s: %d published to %s, %d outputs quarantined", day, version, written, TABLE, len(q_rows))
    return summary


def build_report(day: date, prepared: dict[str, Any], published: dict[str, Any]) -> dict[str, Any]:
    """``reports/text_generation/<day>/<version>/report.md`` with a length/perplexity chart and examples."""
    from include.platform import runs, storage
    from include.textgen import report

    judged = storage.read_parquet(storage.path_from_uri(published["judged_uri"], "curated"))
    folder = runs.day_path("reports", DAG_ID, day, runs.slug(published["model_version"]))
    chart = storage.write_bytes(folder / "distributions.png", report.render_chart(judged, published))
    md = storage.write_text(folder / "report.md", report.render_markdown(day, judged, prepared, published, chart.name))
    return {"report_uri": str(md), "chart_uri": str(chart)}
