"""Sentiment inference throughput: the article's per-row ``pipeline()`` vs our batched paths, one run.

Same model, same 2,000 mixed-length labeled texts, same process, measured side by side:

1. ``naive``          one ``transformers.pipeline(...)`` call per text (what the article does);
2. ``batched_fp32``   :func:`include.sentiment.inference.classify`: length-sorted batches, inference mode;
3. ``batched_int8``   the same on PyTorch dynamic int8 quantization of the Linear layers.

For each: texts/s, speed-up vs naive, p50/p95 per-batch latency (per text for naive), peak RSS
during the path, macro-F1 on the texts' labels. Then the issue's rule picks the default production
path: int8 only if it is >= 8x naive AND its macro-F1 is within 0.01 of fp32; else fp32 batched.

Model: ``--model sentiment@champion`` from the configured lake when it exists; otherwise a quick
offline fine-tune of the shipped MiniLM (same recipe as train_sentiment_model, small settings).
Writes bench/results/sentiment_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]

from include.sentiment import LABELS, inference, training  # noqa: E402
from include.sentiment.config import TrainingConfig  # noqa: E402
from include.sentiment.labeled_set import labeled_examples  # noqa: E402
from include.sentiment.modeling import ModelSource, resolve_source, set_threads  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sentiment_throughput.json"
MIN_DEFAULT_SPEEDUP = 8.0
MIN_FP32_SPEEDUP = 3.0


class PeakRSS:
    """Peak resident memory of this process while a block runs (psutil, sampled every 10 ms)."""

    def __enter__(self) -> PeakRSS:
        import psutil

        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()



def mixed_texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` labeled texts of very mixed length: 1-3 sentences, and 1 in 16 repeated ~8x (long)."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for text, label in labeled_examples(n, seed=seed):
        if rng.random() < 1 / 16:
            text = " ".join([text] * int(rng.integers(6, 10)))
        texts.append(text)
        labels.append(label)
    return texts, labels


def unseen_mask(texts: list[str]) -> np.ndarray:
    """Texts using a phrase template that training never sees (the template-disjoint held-out rule)."""
    from include.sentiment.labeled_set import PHRASES

    patterns = [training._template_pattern(PHRASES[label][-1]) for label in LABELS]
    return np.array([any(p.search(t) for p in patterns) for t in texts])


def get_model(ref: str, work: Path, model_dir: Path | None = None) -> tuple[ModelSource, str]:
    if model_dir is not None:
        return ModelSource(path=str(model_dir), version="local-dir", origin="package"), f"folder {model_dir}"
    try:
        return resolve_source(ref, cache_dir=work / "cache"), f"registry {ref}"
    except Exception as exc:  # noqa: BLE001 - no champion in this lake: train one quickly
        print(f"{ref} not available ({exc}); fine-tuning the shipped MiniLM (small settings) ...", flush=True)
    config = TrainingConfig.from_params({"examples": 600, "epochs": 2, "batch_size": 32, "learning_rate": 3e-4,
                                         "max_length": 64})
    result = training.fine_tune(training.demo_labeled_set(config.examples, config.seed), config)
    out = training.save(result, work / "model")
    return ModelSource(path=str(out), version="bench-finetune", origin="package"), (
        f"quick fine-tune of local MiniLM (held-out macro-F1 {result.metrics['macro_f1']:.3f})")


def run_naive(clf: inference.Classifier, texts: list[str]) -> tuple[list[str], list[float]]:
    from transformers import pipeline

    pipe = pipeline("text-classification", model=clf.model, tokenizer=clf.tokenizer, device="cpu")
    labels, latencies = [], []
    for text in texts:
        start = time.perf_counter()
        out = pipe(text, truncation=True, max_length=clf.max_length)
        latencies.append(time.perf_counter() - start)
        labels.append(str(out[0]["label"]).lower())
    return labels, latencies


def summarize(name: str, n: int, seconds: float, latencies: list[float], labels: list[str], truth: list[str],
              peak_rss: int, unseen: np.ndarray) -> dict:
    f1 = training.evaluate(truth, labels)["macro_f1"]
    f1_unseen = (training.evaluate(list(np.asarray(truth)[unseen]), list(np.asarray(labels)[unseen]))["macro_f1"]
                 if unseen.any() else float("nan"))
    row = {
        "path": name, "texts": n, "seconds": round(seconds, 3), "texts_per_s": round(n / seconds, 1),
        "latency_unit": "per text" if name == "naive" else "per batch",
        "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(1000 * float(np.percentile(latencies, 95)), 2),
        "peak_rss_mb": round(peak_rss / 2**20, 1), "macro_f1": round(f1, 4),
        "macro_f1_unseen_templates": round(f1_unseen, 4),
    }
    print(f"{name:>13}: {row['texts_per_s']:8.1f} texts/s  p50 {row['p50_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms "
          f"({row['latency_unit']})  peak RSS {row['peak_rss_mb']} MB  macro-F1 {row['macro_f1']:.4f} "
          f"(unseen templates {row['macro_f1_unseen_templates']:.4f})", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="sentiment@champion")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="a saved classifier folder (e.g. a downloaded registry version) instead of --model")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--round-size", type=int, default=250, help="texts per interleaved round (= a DAG chunk)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    threads = set_threads(args.threads)
    texts, truth = mixed_texts(args.n, args.seed)
    unseen = unseen_mask(texts)
    with tempfile.TemporaryDirectory() as tmp:
        source, model_note = get_model(args.model, Path(tmp), args.model_dir)
        fp32 = inference.load_classifier(source, precision="fp32", device="cpu")
        int8 = inference.load_classifier(source, precision="int8", device="cpu")
        lengths = inference.token_lengths(fp32.tokenizer, texts, fp32.max_length)
        print(f"model: {model_note}; {args.n} texts, tokens p50 {int(np.median(lengths))} / max {max(lengths)} "
              f"(window {fp32.max_length}); {threads} torch threads", flush=True)

        # Interleaved rounds: each round gives every path the same slice of texts, one after the
        # other, so load from other processes on this shared machine hits all paths alike.
        paths = ["naive", "batched_fp32", "batched_int8", "batched_fp32_unsorted"]
        acc = {p: {"seconds": 0.0, "lat": [], "labels": [], "rss": 0} for p in paths}
        for clf in (fp32, int8):
            inference.classify(clf, texts[:64], batch_size=args.batch_size, log_every=0)  # warm-up
        slices = [list(range(i, min(i + args.round_size, args.n))) for i in range(0, args.n, args.round_size)]
        for r, idx in enumerate(slices):
            part = [texts[i] for i in idx]
            for name in paths:
                with PeakRSS() as rss:
                    start = time.perf_counter()
                    if name == "naive":
                        labels, lat = run_naive(fp32, part)
                    else:
                        clf = int8 if name == "batched_int8" else fp32
                        scored = inference.classify(clf, part, batch_size=args.batch_size,
                                                    sort_by_length=name != "batched_fp32_unsorted", log_every=0)
                        labels, lat = scored.labels, scored.batch_seconds
                    acc[name]["seconds"] += time.perf_counter() - start
                acc[name]["lat"] += lat
                acc[name]["labels"] += labels
                acc[name]["rss"] = max(acc[name]["rss"], rss.peak)
            print(f"round {r + 1}/{len(slices)}: " + ", ".join(
                f"{p} {len(acc[p]['labels']) / acc[p]['seconds']:.0f}/s" for p in paths), flush=True)
        rows = [summarize(p, args.n, acc[p]["seconds"], acc[p]["lat"], acc[p]["labels"], truth, acc[p]["rss"], unseen)
                for p in paths]

    by = {r["path"]: r for r in rows}
    naive = by["naive"]["texts_per_s"]
    for r in rows:
        r["speedup_vs_naive"] = round(r["texts_per_s"] / naive, 2)
    # The accuracy rule on both the whole set and the unseen-template subset; the worse drop decides.
    f1_drop = max(by["batched_fp32"][k] - by["batched_int8"][k] for k in ("macro_f1", "macro_f1_unseen_templates"))
    int8_ok = by["batched_int8"]["speedup_vs_naive"] >= MIN_DEFAULT_SPEEDUP and f1_drop <= inference.INT8_MAX_F1_DROP
    default = "batched_int8" if int8_ok else "batched_fp32"
    decision = {
        "default_path": default,
        "rule": f"int8 only if >= {MIN_DEFAULT_SPEEDUP}x naive and macro-F1 within {inference.INT8_MAX_F1_DROP} of fp32",
        "int8_macro_f1_drop": round(f1_drop, 4),
        "fp32_batched_meets_3x": by["batched_fp32"]["speedup_vs_naive"] >= MIN_FP32_SPEEDUP,
        "default_meets_8x": by[default]["speedup_vs_naive"] >= MIN_DEFAULT_SPEEDUP,
        "dag_setting": "precision=auto applies the same accuracy rule per model from its registered int8 metrics",
    }
    import torch

    result = {
        "benchmark": "sentiment_throughput", "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "torch_threads": threads, "torch": torch.__version__,
                    "python": platform.python_version(), "load_avg_1m": round(os.getloadavg()[0], 2)},
        "model": model_note, "texts": args.n, "unseen_template_texts": int(unseen.sum()),
        "batch_size": args.batch_size, "round_size": args.round_size,
        "method": "interleaved rounds: every path scores the same slice in turn, so machine load hits all alike",
        "labels": list(LABELS),
        "token_lengths": {"p50": int(np.median(lengths)), "p95": int(np.percentile(lengths, 95)), "max": max(lengths)},
        "paths": rows, "decision": decision,
    }
    print(json.dumps(decision, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
