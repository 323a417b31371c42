"""Benchmark: llm_fine_tuning's offline path on the shipped clothing-review corpus (CC0).

In one process, on a private lake: seed the corpus, prepare (GX validation, BPE tokenizer, packing), then

1. train the tiny GPT-2 uninterrupted (``--max-steps``) and evaluate it: held-out perplexity of the untrained
   start and of the tuned model, training tokens/s;
2. train the same config again in a fresh run folder, killed (``SimulatedCrash``) ``--crash-after`` steps in,
   then resumed from its last checkpoint: ``resume_overhead_s`` = (killed attempt + resumed attempt) −
   uninterrupted wall time — what a crash costs beyond the work itself (steps redone since the last
   checkpoint, reloading the checkpoint, the second start). The resumed model's perplexity must equal the
   uninterrupted one's (same batches, same RNG);
3. ``--bf16-steps`` steps with bf16 autocast and with fp32, interleaved (tokens/s each): does bf16 help here?

Writes bench/results/llm_fine_tuning.json (keys perplexity_untrained, perplexity_tuned, train_tokens_per_s,
resume_overhead_s, plus the detail).

    PYTHONPATH=. .venv/bin/python bench/llm_fine_tuning.py [--max-steps 300] [--crash-after 170] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=None, help="default: the DAG's max_steps")
    parser.add_argument("--crash-after", type=int, default=None, help="default: 0.55 x max-steps")
    parser.add_argument("--bf16-steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "llm_fine_tuning.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ["AIRFLOW_VAR_GENAI_DATA_DIR"] = tempfile.mkdtemp(prefix="llm-bench-")

    import torch

    from include.llm import corpus, gate, modeling, packing, pipeline, training
    from include.llm.config import FineTuneConfig
    from include.platform import storage

    torch.set_num_threads(args.threads)
    overrides = {"threads": args.threads} | ({"max_steps": args.max_steps} if args.max_steps else {})
    cfg = FineTuneConfig.from_params(overrides)
    crash_after = args.crash_after or int(cfg.max_steps * 0.55)
    # at least one checkpoint before the crash (the DAG's default, 100 steps, is longer than a short bench)
    cfg = FineTuneConfig.from_params(overrides | {"checkpoint_every": min(cfg.checkpoint_every,
                                                                           max(1, int(crash_after * 0.7)))})
    corpus.seed_corpus()
    prepared = pipeline.prepare(cfg, date(2026, 12, 3), "bench")

    started = time.perf_counter()
    trained = pipeline.train(cfg, prepared, "bench-full")
    full_wall = time.perf_counter() - started
    evaluated = pipeline.evaluate(cfg, prepared, trained)
    m = evaluated["metrics"]
    decision, reasons, _ = gate.decide(m, None, cfg)  # what the DAG's gate says about a first model

    started = time.perf_counter()
    try:
        pipeline.train(cfg, prepared, "bench-resume", crash_after=crash_after)
        raise AssertionError("the drill did not crash")
    except training.SimulatedCrash:
        pass
    resumed = pipeline.train(cfg, prepared, "bench-resume")
    crash_wall = time.perf_counter() - started
    assert resumed["steps"] == trained["steps"] and resumed["resumed_from"], resumed
    # the resumed model scores exactly like the uninterrupted one
    with tempfile.TemporaryDirectory() as tmp:
        folder = pipeline.download_dir(storage.path_from_uri(resumed["model_uri"], "curated"), tmp)
        model, tok = pipeline.load_model_dir(folder)
        texts = storage.read_parquet(storage.path_from_uri(prepared["data_uri"], "curated")
                                     / "heldout_texts.parquet")["text"].tolist()
        resumed_ppl = pipeline.score(model, tok, texts, cfg, "cpu", generations=False)["perplexity"]

    # bf16 autocast vs fp32 on the same blocks, interleaved, fresh models
    blocks = packing.from_frame(storage.read_parquet(storage.path_from_uri(prepared["data_uri"], "curated")
                                                     / "train_blocks.parquet"))
    rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(2):
        for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
            fresh = modeling.tiny_gpt2(cfg, prepared["vocab_size"], 0)
            r = training.train(fresh, blocks, max_steps=args.bf16_steps, batch_size=cfg.batch_size,
                               learning_rate=cfg.learning_rate, checkpoint_every=10**9, log_every=10**9,
                               seed=cfg.seed, amp_dtype=dtype)
            rates[name].append(r.tokens_per_s)

    result = {
        "perplexity_untrained": round(m["perplexity_untrained"], 3),
        "perplexity_tuned": round(m["perplexity"], 3),
        "train_tokens_per_s": round(trained["train_tokens_per_s"], 1),
        "resume_overhead_s": round(crash_wall - full_wall, 2),
        "perplexity_word_untrained": round(m["perplexity_word_untrained"], 2),
        "perplexity_word_tuned": round(m["perplexity_word"], 2),
        "perplexity_resumed": round(resumed_ppl, 3),
        "repetition_rate": round(m["repetition_rate"], 4), "distinct_1": round(m["distinct_1"], 4),
        "distinct_2": round(m["distinct_2"], 4),
        "gate_decision": decision, "gate_reasons": reasons,
        "generations": pipeline.by_prompt(cfg, evaluated["generations"]),
        "uninterrupted_wall_s": round(full_wall, 2), "crash_and_resume_wall_s": round(crash_wall, 2),
        "crash_after_steps": crash_after, "resumed_from_step": resumed["resumed_from"],
        "train_seconds": trained["train_seconds"], "precision": trained["precision"],
        "tokens_per_s_fp32": [round(x, 1) for x in rates["fp32"]],
        "tokens_per_s_bf16_autocast": [round(x, 1) for x in rates["bf16"]],
        "bf16_native": modeling.bf16_native("cpu"),
        "config": {k: v for k, v in cfg.as_dict().items() if k not in ("corpus_key",)},
        "data": {k: prepared[k] for k in ("valid", "quarantined", "train_docs", "heldout_docs", "train_blocks",
                                          "heldout_blocks", "train_tokens", "vocab_size")},
        "parameters": trained["parameters"],
        "machine": {"cpus": os.cpu_count(), "threads": args.threads, "python": platform.python_version(),
                    "torch": torch.__version__, "processor": platform.processor() or platform.machine()},
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("perplexity_untrained", "perplexity_tuned", "train_tokens_per_s",
                                             "resume_overhead_s", "perplexity_resumed", "tokens_per_s_fp32",
                                             "tokens_per_s_bf16_autocast", "gate_decision", "distinct_2",
                                             "repetition_rate")}, indent=2))
    return result


if __name__ == "__main__":
    main()
