"""Sentiment inference throughput on real text: the article's per-row ``pipeline()`` vs every batched path, one run.

Same model, same real texts (the cross-domain test set, :func:`include.sentiment.corpus.load_test_set`: Amazon
Fine Food Reviews, CC0, never trained or tuned on), same process, measured side by side in interleaved rounds:

1. ``naive``                 one ``transformers.pipeline(...)`` call per text (what the article does);
2. ``batched_fp32``          :func:`include.sentiment.inference.classify` on PyTorch: length-sorted batches;
3. ``batched_fp32_unsorted`` the same batches in input order (what sorting is worth);
4. ``batched_int8``          PyTorch dynamic int8 (per-tensor) of the Linear layers;
5. ``onnx_fp32``             ONNX Runtime, the fused fp32 export (:mod:`include.sentiment.onnx_export`);
6. ``onnx_int8``             ONNX Runtime, the fused export with per-channel int8 weights, pooler/classifier fp32;
7. ``batched_bf16``          PyTorch with the weights in bfloat16: AMX tile matmuls on CPUs that have them;
8. ``student_fp32`` / ``student_bf16`` / ``student_int8`` / ``student_onnx_fp32``  the version's distilled student
   (``student/``, :mod:`include.sentiment.distill`: half the layers, trained on the full model's soft labels),
   batched, fp32 / bf16 / PyTorch dynamic int8 / ONNX Runtime fp32.

For each: texts/s, speed-up vs naive, macro-F1 on the real labels, label agreement with ``batched_fp32``, p50/p95
latency (per batch; per text for naive), peak RSS of the process during the path and the RSS its model added
when loaded. Then the DAG's own rule picks the default: ``runtime=auto, precision=auto`` resolved with the
macro-F1s measured here (:func:`include.sentiment.inference.resolve_path`), i.e. int8 only if its macro-F1 on
the real texts is within 0.01 of fp32's. ``default_path`` in the JSON reports that path beside fp32.

Model: ``--model-dir`` (a saved classifier folder), else ``--model`` from the configured lake's registry when it
exists, else a quick fine-tune of the shipped MiniLM on the shipped real training corpus (``--train-params``).
Writes bench/results/sentiment_throughput.json.

    PYTHONPATH=$PWD:$PWD/plugins nice .venv/bin/python bench/sentiment_throughput.py --model-dir /tmp/champion
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

from include.sentiment import LABELS, corpus, distill, inference, onnx_export, training  # noqa: E402
from include.sentiment.clean import normalize_text  # noqa: E402
from include.sentiment.config import TrainingConfig  # noqa: E402
from include.sentiment.modeling import ModelSource, resolve_source, set_threads  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sentiment_throughput.json"
MIN_DEFAULT_SPEEDUP = 8.0
#: bench path -> (runtime, precision, sorted, variant)
PATHS = {
    "naive": ("transformers", "fp32", False, "full"),
    "batched_fp32": ("transformers", "fp32", True, "full"),
    "batched_fp32_unsorted": ("transformers", "fp32", False, "full"),
    "batched_int8": ("transformers", "int8", True, "full"),
    "onnx_fp32": ("onnxruntime", "fp32", True, "full"),
    "onnx_int8": ("onnxruntime", "int8", True, "full"),
    "batched_bf16": ("transformers", "bf16", True, "full"),
    "student_fp32": ("transformers", "fp32", True, "student"),
    "student_bf16": ("transformers", "bf16", True, "student"),
    "student_int8": ("transformers", "int8", True, "student"),
    "student_onnx_fp32": ("onnxruntime", "fp32", True, "student"),
}
QUICK_TRAIN = {"train_rows": 1500, "examples": 0, "epochs": 1, "trainable_layers": 2, "max_length": 128}


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


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def get_model(ref: str, work: Path, model_dir: Path | None, train_params: dict) -> tuple[ModelSource, str]:
    if model_dir is not None:
        return ModelSource(path=str(model_dir), version="local-dir", origin="package"), f"folder {model_dir}"
    try:
        return resolve_source(ref, cache_dir=work / "cache"), f"registry {ref}"
    except Exception as exc:  # noqa: BLE001 - no champion in this lake: train one quickly
        print(f"{ref} not available ({exc}); fine-tuning the shipped MiniLM on the real corpus ...", flush=True)
    config = TrainingConfig.from_params(train_params)
    result = training.fine_tune(training.training_data(config).frame, config)
    out = training.save(result, work / "model")
    return ModelSource(path=str(out), version="bench-finetune", origin="package"), (
        f"quick fine-tune of the shipped MiniLM on the shipped real corpus, Params {json.dumps(config.as_dict())}")


def naive_pipe(clf: inference.Classifier) -> object:
    from transformers import pipeline

    return pipeline("text-classification", model=clf.model, tokenizer=clf.tokenizer, device="cpu")


def run_naive(pipe: object, max_length: int, texts: list[str]) -> tuple[list[str], list[float]]:
    labels, latencies = [], []
    for text in texts:
        start = time.perf_counter()
        out = pipe(text, truncation=True, max_length=max_length)
        latencies.append(time.perf_counter() - start)
        labels.append(str(out[0]["label"]).lower())
    return labels, latencies


def macro_f1(truth: list[str], labels: list[str]) -> float:
    return training.evaluate(truth, labels)["macro_f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="sentiment@champion")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="a saved classifier folder (e.g. a downloaded registry version) instead of --model")
    parser.add_argument("--train-params", default=json.dumps(QUICK_TRAIN),
                        help="TrainingConfig Params of the quick fine-tune used when no model is given")
    parser.add_argument("--n", type=int, default=0, help="first n test texts (0 = all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--round-size", type=int, default=250, help="texts per interleaved round (= a DAG chunk)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated subset of " + ",".join(PATHS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    paths = [p for p in args.paths.split(",") if p]
    for required in ("naive", "batched_fp32"):
        if required not in paths:
            raise SystemExit(f"--paths must include {required} (the baseline and the fp32 reference)")
    threads = set_threads(args.threads)
    test = corpus.load_test_set()
    if args.n:
        test = test.iloc[: args.n]
    texts, truth = test["text"].map(normalize_text).tolist(), test["label"].tolist()
    n = len(texts)
    with tempfile.TemporaryDirectory() as tmp:
        source, model_note = get_model(args.model, Path(tmp), args.model_dir, json.loads(args.train_params))
        if args.model_dir is not None:  # never write export caches beside the caller's folder
            copy = Path(tmp) / "model"
            import shutil

            shutil.copytree(args.model_dir, copy)
            source = ModelSource(path=str(copy), version=source.version, origin=source.origin)
        export_s = time.perf_counter()
        onnx_export.ensure(source.path, "int8")  # lazy export (both precisions) outside the timed rounds
        export_s = time.perf_counter() - export_s
        clfs: dict[str, inference.Classifier] = {}
        model_rss: dict[str, float] = {}
        student = ModelSource(path=str(Path(source.path) / distill.STUDENT_DIR), version=source.version,
                              origin=source.origin)
        if not (Path(student.path) / "config.json").is_file():
            paths = [p for p in paths if PATHS[p][3] != "student"]  # a version without a student
        for name in paths:
            runtime, precision, _, variant = PATHS[name]
            key = f"{variant}-{runtime}-{precision}"
            if key not in clfs:
                before = rss()
                clfs[key] = inference.load_classifier(student if variant == "student" else source,
                                                      precision=precision, device="cpu", runtime=runtime,
                                                      threads=threads)
                assert clfs[key].runtime == runtime, f"{name}: wanted {runtime}, got {clfs[key].runtime}"
                model_rss[key] = round((rss() - before) / 2**20, 1)
        fp32 = clfs["full-transformers-fp32"]
        pipe = naive_pipe(fp32)
        lengths = inference.token_lengths(fp32.tokenizer, texts, fp32.max_length)
        print(f"model: {model_note}; {n} real texts, tokens p50 {int(np.median(lengths))} / p95 "
              f"{int(np.percentile(lengths, 95))} / max {max(lengths)} (window {fp32.max_length}); {threads} threads; "
              f"ONNX export/verify {export_s:.1f}s", flush=True)

        for clf in clfs.values():  # warm-up
            inference.classify(clf, texts[:64], batch_size=args.batch_size, log_every=0)
        run_naive(pipe, fp32.max_length, texts[:8])
        # Interleaved rounds: each round gives every path the same slice of texts, one after the other,
        # so load from other processes on this shared machine hits all paths alike.
        acc = {p: {"seconds": 0.0, "lat": [], "labels": [], "rss": 0} for p in paths}
        slices = [list(range(i, min(i + args.round_size, n))) for i in range(0, n, args.round_size)]
        for r, idx in enumerate(slices):
            part = [texts[i] for i in idx]
            for name in paths if r % 2 == 0 else paths[::-1]:  # alternate the order too
                runtime, precision, sort, variant = PATHS[name]
                with PeakRSS() as peak:
                    start = time.perf_counter()
                    if name == "naive":
                        labels, lat = run_naive(pipe, fp32.max_length, part)
                    else:
                        scored = inference.classify(clfs[f"{variant}-{runtime}-{precision}"], part,
                                                    batch_size=args.batch_size, sort_by_length=sort, log_every=0)
                        labels, lat = scored.labels, scored.batch_seconds
                    acc[name]["seconds"] += time.perf_counter() - start
                acc[name]["lat"] += lat
                acc[name]["labels"] += labels
                acc[name]["rss"] = max(acc[name]["rss"], peak.peak)
            print(f"round {r + 1}/{len(slices)}: " + ", ".join(
                f"{p} {len(acc[p]['labels']) / acc[p]['seconds']:.0f}/s" for p in paths), flush=True)

    naive_tps = n / acc["naive"]["seconds"]
    ref_labels = np.asarray(acc["batched_fp32"]["labels"])
    rows = []
    for name in paths:
        runtime, precision, sort, variant = PATHS[name]
        a = acc[name]
        row = {
            "path": name, "variant": variant, "runtime": runtime, "precision": precision, "length_sorted": sort,
            "texts": n,
            "seconds": round(a["seconds"], 3), "texts_per_s": round(n / a["seconds"], 1),
            "speedup_vs_naive": round((n / a["seconds"]) / naive_tps, 2),
            "macro_f1_real": round(macro_f1(truth, a["labels"]), 4),
            "agreement_with_fp32": round(float(np.mean(np.asarray(a["labels"]) == ref_labels)), 4),
            "latency_unit": "per text" if name == "naive" else "per batch",
            "p50_ms": round(1000 * float(np.percentile(a["lat"], 50)), 2),
            "p95_ms": round(1000 * float(np.percentile(a["lat"], 95)), 2),
            "peak_rss_mb": round(a["rss"] / 2**20, 1),
            "model_rss_mb": model_rss.get(f"{variant}-{runtime}-{precision}"),
        }
        rows.append(row)
        print(f"{name:>22}: {row['texts_per_s']:7.1f} texts/s {row['speedup_vs_naive']:6.2f}x  p50 {row['p50_ms']:8.2f} "
              f"p95 {row['p95_ms']:8.2f} ms ({row['latency_unit']})  RSS {row['peak_rss_mb']} MB  macro-F1 "
              f"{row['macro_f1_real']:.4f}  agree {row['agreement_with_fp32']:.4f}", flush=True)

    by = {r["path"]: r for r in rows}
    f1_fp32 = by["batched_fp32"]["macro_f1_real"]
    # The DAG's defaults (runtime=auto, precision=auto) resolved with the real-text macro-F1s measured here.
    metrics = {"macro_f1": f1_fp32}
    if "onnx_int8" in by:
        metrics["onnx_int8_macro_f1"] = by["onnx_int8"]["macro_f1_real"]
    if "batched_int8" in by:
        metrics["int8_macro_f1"] = by["batched_int8"]["macro_f1_real"]
    if "batched_bf16" in by:
        metrics[inference.BF16_METRIC] = by["batched_bf16"]["macro_f1_real"]
    for name, key in (("student_fp32", "student_macro_f1"), ("student_bf16", "student_bf16_macro_f1"),
                      ("student_int8", "student_int8_macro_f1")):
        if name in by:
            metrics[key] = by[name]["macro_f1_real"]
    # resolve_serving considers a student only for registry versions: the folder measured here is one.
    version = ModelSource(path=str(args.model_dir or source.path), version="bench", origin="registry")
    chosen, runtime, precision = inference.resolve_serving(version, metrics, "auto", "auto", "cpu")
    variant = "student" if chosen.path != version.path else "full"
    default = {("full", "onnxruntime", "int8"): "onnx_int8", ("full", "onnxruntime", "fp32"): "onnx_fp32",
               ("full", "transformers", "int8"): "batched_int8", ("full", "transformers", "fp32"): "batched_fp32",
               ("full", "transformers", "bf16"): "batched_bf16", ("student", "transformers", "bf16"): "student_bf16",
               ("student", "transformers", "fp32"): "student_fp32", ("student", "transformers", "int8"): "student_int8",
               ("student", "onnxruntime", "fp32"): "student_onnx_fp32"}.get((variant, runtime, precision))
    if default not in by:
        raise SystemExit(f"the default path {default} was not measured; include it in --paths")
    d = by[default]
    default_path = {
        "name": default, "variant": variant, "runtime": runtime, "precision": precision,
        "speedup_vs_naive": d["speedup_vs_naive"], "texts_per_s": d["texts_per_s"],
        "macro_f1_real": d["macro_f1_real"], "macro_f1_real_fp32": f1_fp32,
        "macro_f1_drop": round(f1_fp32 - d["macro_f1_real"], 4),
        "agreement_with_fp32": d["agreement_with_fp32"],
        "meets_8x": d["speedup_vs_naive"] >= MIN_DEFAULT_SPEEDUP,
        "accuracy_holds": f1_fp32 - d["macro_f1_real"] <= inference.INT8_MAX_F1_DROP,
        "rule": (f"variant=auto, runtime=auto, precision=auto: the distilled student if its macro-F1 at its "
                 f"precision stayed within {inference.INT8_MAX_F1_DROP} of the full model's fp32, else the full "
                 f"model; transformers-bf16 where the CPU multiplies bf16 in hardware (AMX or AVX512-BF16: "
                 f"{inference.serves_bf16('cpu')} here), else PyTorch dynamic int8, else ONNX Runtime int8, else "
                 f"fp32; every reduced path only if its macro-F1 on the real "
                 f"texts is within {inference.INT8_MAX_F1_DROP} of fp32 (batched_fp32, same texts, same run)"),
    }
    import onnxruntime
    import torch

    result = {
        "benchmark": "sentiment_throughput", "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "default_path": default_path,
        "machine": {"cpus": os.cpu_count(), "threads": threads, "native_bf16": inference.native_bf16("cpu"),
                    "serves_bf16": inference.serves_bf16("cpu"), "torch": torch.__version__,
                    "onnxruntime": onnxruntime.__version__, "python": platform.python_version(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "model": model_note,
        "texts": {"source": corpus.TEST_SOURCE["title"], "license": corpus.TEST_SOURCE["license"], "n": n,
                  "labels": {k: int(v) for k, v in test["label"].value_counts().sort_index().items()}},
        "batch_size": args.batch_size, "round_size": args.round_size,
        "method": ("interleaved rounds (order alternating): every path scores the same slice of real texts in turn, "
                   "so machine load hits all alike; latency is per batch (per text for naive)"),
        "labels": list(LABELS),
        "token_lengths": {"p50": int(np.median(lengths)), "p95": int(np.percentile(lengths, 95)), "max": max(lengths),
                          "window": fp32.max_length},
        "onnx_export_s": round(export_s, 1),
        "paths": rows,
    }
    print(json.dumps(default_path, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
