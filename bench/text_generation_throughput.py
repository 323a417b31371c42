"""Benchmark: text_generation's local path (sorted, left-padded batches, KV cache) vs naive
one-prompt-at-a-time ``transformers.pipeline("text-generation")``, same model, same prompts, same run.

The model is the offline ``local:tiny-gpt2`` at llm_fine_tuning's default size (4 layers, 256 wide,
4 heads, 128 positions, a 2,048-token byte-level BPE trained here on the shipped clothing reviews) with
seeded *untrained* weights: throughput does not depend on what the weights say, and the bench needs no
lake or registry. 256 prompts of mixed length (2-60 words cut from the shipped reviews, seeded),
greedy, ``--max-new-tokens`` each; new tokens are counted as generated (a row that hits end-of-text
stops early in both paths).

Interleaved on a shared machine: the prompts are split into ``--rounds`` rounds; each round runs the
naive path and the batched path back to back (alternating which goes first), so load that comes and goes
hits both. Per-prompt latency: naive = its own call; batched = the wall time of the generate() call it
was part of (a prompt waits for its batch). Peak RSS is the bench process's (both paths in one
process; the model is shared).

Writes bench/results/text_generation_throughput.json (key ``speedup_vs_naive`` = batched new tokens/s ÷
naive new tokens/s over the whole run, ``speedup_median_of_rounds`` and each round's numbers, p50/p95
latency per prompt, peak RSS, agreement of the two paths' greedy text).

    PYTHONPATH=. .venv/bin/python bench/text_generation_throughput.py [--batch-size 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _prompts(n: int, seed: int) -> list[str]:
    from include.llm.corpus import shipped_texts

    rng = random.Random(seed)
    texts = [t for t in shipped_texts() if len(t.split()) >= 60]
    return [" ".join(rng.choice(texts).split()[: rng.randint(2, 60)]) for _ in range(n)]


def _model(seed: int):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from include.llm import tokenizer as tk
    from include.llm.config import FineTuneConfig
    from include.llm.corpus import shipped_texts

    d = FineTuneConfig()
    tok = tk.train_bpe(shipped_texts(), d.vocab_size)
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=d.block_size, n_embd=d.n_embd, n_layer=d.n_layer,
                     n_head=d.n_head, bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.eos_token_id)
    return GPT2LMHeadModel(cfg).eval(), tok


def _pct(values: list[float], q: float) -> float:
    import numpy as np

    return round(float(np.percentile(values, q)) * 1000, 2)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "text_generation_throughput.json"))
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    from include.textgen import generate

    torch.set_num_threads(args.threads)
    model, tok = _model(args.seed)
    prompts = _prompts(args.prompts, args.seed)
    budget = generate.prompt_budget(model, args.max_new_tokens)
    # Both paths see the same (already fitting) prompt text: cut to the batched path's token budget.
    prompts = [tok.decode(ids) for ids, _ in generate.encode(tok, prompts, budget)]
    pipe = pipeline("text-generation", model=model, tokenizer=tok, device="cpu")
    gen_kwargs = {"max_new_tokens": args.max_new_tokens, "do_sample": False, "return_full_text": False,
                  "pad_token_id": tok.eos_token_id}
    pipe(prompts[0], **gen_kwargs)  # warm-up both paths once
    generate.generate(model, tok, prompts[:4], max_new_tokens=4, batch_size=4)

    per = -(-len(prompts) // args.rounds)
    naive = {"s": 0.0, "tokens": 0, "lat": [], "texts": []}
    batched = {"s": 0.0, "tokens": 0, "lat": [], "texts": []}

    def run_naive(part: list[str]) -> None:
        for p in part:
            t0 = time.perf_counter()
            text = pipe(p, **gen_kwargs)[0]["generated_text"]
            dt = time.perf_counter() - t0
            naive["s"] += dt
            naive["lat"].append(dt)
            naive["tokens"] += len(tok(text, add_special_tokens=False)["input_ids"])
            naive["texts"].append(text)

    def run_batched(part: list[str]) -> None:
        t0 = time.perf_counter()
        gens = generate.generate(model, tok, part, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
        batched["s"] += time.perf_counter() - t0
        batched["lat"] += [g.batch_seconds for g in gens]
        batched["tokens"] += sum(g.n_new_tokens for g in gens)
        batched["texts"] += [g.text for g in gens]

    load, rounds = [], []
    for r in range(args.rounds):
        part = prompts[r * per:(r + 1) * per]
        load.append(round(os.getloadavg()[0], 2))
        before = (naive["s"], naive["tokens"], batched["s"], batched["tokens"])
        first, second = (run_naive, run_batched) if r % 2 == 0 else (run_batched, run_naive)
        first(part)
        second(part)
        ns, nt = naive["s"] - before[0], naive["tokens"] - before[1]
        bs, bt = batched["s"] - before[2], batched["tokens"] - before[3]
        rounds.append({"naive_s": round(ns, 2), "batched_s": round(bs, 2), "load_1m": load[-1],
                       "speedup": round((bt / bs) / (nt / ns), 2)})
        print(f"round {r + 1}/{args.rounds}: {rounds[-1]}", flush=True)

    naive_tps = naive["tokens"] / naive["s"]
    batched_tps = batched["tokens"] / batched["s"]
    same = sum(a == b for a, b in zip(naive["texts"], batched["texts"], strict=True)) / len(prompts)
    result = {
        "speedup_vs_naive": round(batched_tps / naive_tps, 2),
        # Per round (same prompts, back to back): load spikes on the shared machine move the aggregate; the
        # median round is the steadier figure.
        "speedup_median_of_rounds": round(float(sorted(r["speedup"] for r in rounds)[len(rounds) // 2]), 2),
        "rounds_detail": rounds,
        "batched_new_tokens_per_s": round(batched_tps, 1),
        "naive_new_tokens_per_s": round(naive_tps, 1),
        "batched_p50_latency_ms": _pct(batched["lat"], 50), "batched_p95_latency_ms": _pct(batched["lat"], 95),
        "naive_p50_latency_ms": _pct(naive["lat"], 50), "naive_p95_latency_ms": _pct(naive["lat"], 95),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "batched_wall_s": round(batched["s"], 2), "naive_wall_s": round(naive["s"], 2),
        "batched_new_tokens": batched["tokens"], "naive_new_tokens": naive["tokens"],
        "greedy_text_identical_share": round(same, 4),
        "prompts": len(prompts), "prompt_tokens_min_max": [min(len(tok(p)["input_ids"]) for p in prompts),
                                                           max(len(tok(p)["input_ids"]) for p in prompts)],
        "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size, "rounds": args.rounds,
        "threads": args.threads, "model": "local:tiny-gpt2 at llm_fine_tuning defaults, untrained (seeded)",
        "parameters": sum(p.numel() for p in model.parameters()),
        "loadavg_1m_per_round": load, "cpu_count": os.cpu_count(),
        "torch": torch.__version__, "python": platform.python_version(),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("speedup_vs_naive", "speedup_median_of_rounds", "batched_new_tokens_per_s", "naive_new_tokens_per_s",
                                             "batched_p50_latency_ms", "batched_p95_latency_ms", "naive_p50_latency_ms",
                                             "naive_p95_latency_ms", "peak_rss_mb", "greedy_text_identical_share",
                                             "loadavg_1m_per_round")}, indent=2))
    return result


if __name__ == "__main__":
    main()
