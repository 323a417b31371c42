"""Batched transformers inference: sorted by token length, inference mode, threads pinned, GPU if any.

Why sorting matters: a batch is padded to its longest text, so one 500-token message in a batch of
short ones makes the whole batch cost 500 tokens (the transformers docs measure a 4.9x slowdown
for mixed lengths at batch size 64). Sorting by length first makes every batch nearly uniform;
results are put back in input order before they are returned.

Runtime: ``onnxruntime`` runs the model's ONNX export (:mod:`include.sentiment.onnx_export`: fused graph,
int8 with per-channel weights); ``transformers`` runs the PyTorch model as saved (kept as the plain path and
the fallback). ``auto`` picks ONNX Runtime on CPU when it is installed and the model is a local folder, else
transformers; if the export cannot be had, loading falls back to transformers and says so.

Precision: ``fp32``, ``int8`` (on transformers: PyTorch dynamic quantization of the Linear layers; on ONNX
Runtime: the exported int8 graph; CPU only) or ``bf16`` (transformers only: the weights cast to bfloat16, which
CPUs with AMX multiply in hardware; GPUs from Ampere on). ``auto`` never trades accuracy for speed silently: a
reduced precision is taken only when the model's registered macro-F1 on the real test set under it
(``bf16_macro_f1``, ``onnx_int8_macro_f1`` / ``int8_macro_f1``, measured by the training DAG) is within
``INT8_MAX_F1_DROP`` of fp32. Order of preference for ``runtime=auto, precision=auto``:

1. ``transformers-bf16`` where the device multiplies bf16 in hardware (:func:`serves_bf16`: AMX tiles or
   AVX512-BF16 on the CPU, or a bf16-capable GPU) — the fastest accurate path there (bench/sentiment_throughput.py);
2. ``transformers-int8`` (PyTorch dynamic int8) on other CPUs: measured faster than our ONNX int8 export on both
   machines benched (AVX512-BF16, no AMX: 3.54x vs 2.46x naive for the full model; AMX: 2.26x vs 1.45x);
3. ``onnxruntime-int8``, then ``onnxruntime-fp32``;
4. ``transformers-fp32`` on a GPU without bf16, or when ONNX Runtime is not installed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from include.sentiment import LABELS
from include.sentiment.modeling import ModelSource, label_of, pick_device

log = logging.getLogger(__name__)

INT8_MAX_F1_DROP = 0.01
DEFAULT_MAX_LENGTH = 128
RUNTIMES = ("auto", "onnxruntime", "transformers")
#: Registry metric holding each runtime's int8 macro-F1 (the fp32 one is ``macro_f1``).
INT8_METRIC = {"onnxruntime": "onnx_int8_macro_f1", "transformers": "int8_macro_f1"}
#: Registry metric holding the model's bf16 macro-F1 (transformers runtime).
BF16_METRIC = "bf16_macro_f1"
#: Registry metric holding the distilled student's macro-F1 per precision (transformers runtime; int8 = dynamic).
STUDENT_METRIC = {"fp32": "student_macro_f1", "bf16": "student_bf16_macro_f1", "int8": "student_int8_macro_f1"}
PRECISIONS = ("auto", "fp32", "int8", "bf16")
#: Which network of a version serves (:func:`resolve_serving`).
VARIANTS = ("auto", "full", "student")


@dataclass
class Classifier:
    model: Any
    tokenizer: Any
    device: str
    precision: str
    max_length: int
    version: str
    #: column in our LABELS order for each model output (2-label hub models have no neutral)
    label_columns: list[int]
    #: ``transformers`` (``model`` is the torch module) or ``onnxruntime`` (``model`` is the ORT session)
    runtime: str = "transformers"
    #: encoder layers of a distilled student (:mod:`include.sentiment.distill`); 0 for a full model
    student_layers: int = 0

    @property
    def path_name(self) -> str:
        """``onnxruntime-int8``, ``transformers-fp32``, ``student3-transformers-bf16`` ...: the result rows' backend."""
        prefix = f"student{self.student_layers}-" if self.student_layers else ""
        return f"{prefix}{self.runtime}-{self.precision}"


@dataclass
class Scored:
    labels: list[str]
    scores: np.ndarray  # confidence of the chosen label, in [0, 1]
    probs: np.ndarray  # (n, 3) in LABELS order
    batch_seconds: list[float]


def quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantization of every ``nn.Linear`` (weights int8, activations quantized on the fly)."""
    import torch

    quantize = getattr(torch.ao.quantization, "quantize_dynamic", None) or torch.quantization.quantize_dynamic
    return quantize(model, {torch.nn.Linear}, dtype=torch.qint8)


def native_bf16(device: str) -> bool:
    """Whether ``device`` multiplies bfloat16 in hardware: AMX tiles on a CPU, a bf16-capable GPU.

    Used for bf16 autocast in *training* (distillation), measured only on AMX. For serving see
    :func:`serves_bf16`, which also counts AVX512-BF16 CPUs.
    """
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe and probe())


def serves_bf16(device: str) -> bool:
    """Whether bf16 *inference* is a fast path on ``device``: :func:`native_bf16`, or a CPU with AVX512-BF16.

    Measured side by side (bench/sentiment_throughput.py, 2026-12-04, AMD EPYC with AVX512-BF16 and VNNI but no
    AMX, 2 threads): the 3-layer student in bf16 6.34x the naive pipeline (1.95x its fp32) and 0.0035 macro-F1
    below fp32, against 6.48x and 0.0098 for its PyTorch dynamic int8 — nearly as fast and far more accurate.
    """
    if native_bf16(device):
        return True
    if device.startswith("cuda"):
        return False
    import torch

    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(probe and probe())


def _holds(metrics: dict[str, float] | None, key: str) -> bool:
    """The reduced-precision macro-F1 ``key`` is registered and within the allowance of fp32's."""
    metrics = metrics or {}
    if "macro_f1" not in metrics or key not in metrics:
        return False
    drop = metrics["macro_f1"] - metrics[key]
    if drop > INT8_MAX_F1_DROP:
        log.info("auto precision: %s is %.4f below fp32 (> %.2f); not using it", key, drop, INT8_MAX_F1_DROP)
        return False
    return True


def resolve_runtime(requested: str, device: str) -> str:
    """``onnxruntime`` / ``transformers`` as asked; ``auto`` → ONNX Runtime on CPU when it is installed.

    ONNX Runtime here is the CPU build: on a GPU the transformers path runs (and says so when asked for ORT).
    """
    from include.sentiment import onnx_export

    if requested not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {requested!r}")
    if device != "cpu":
        if requested == "onnxruntime":
            log.warning("the ONNX Runtime path is CPU-only; using transformers on %s", device)
        return "transformers"
    if requested == "auto":
        return "onnxruntime" if onnx_export.available() else "transformers"
    return requested


def resolve_precision(requested: str, metrics: dict[str, float] | None, device: str,
                      runtime: str = "transformers") -> str:
    """``fp32`` / ``int8`` as asked; ``auto`` → int8 only on CPU and only if its F1 held (see module doc)."""
    if requested == "bf16":
        if runtime != "transformers":
            raise ValueError("bf16 runs on the transformers runtime only")
        return requested
    if requested in ("fp32", "int8"):
        if requested == "int8" and device != "cpu":
            log.warning("int8 dynamic quantization is CPU-only; using fp32 on %s", device)
            return "fp32"
        return requested
    if requested != "auto":
        raise ValueError(f"precision must be one of {PRECISIONS}, got {requested!r}")
    if device == "cpu" and _holds(metrics, INT8_METRIC[runtime]):
        return "int8"
    return "fp32"


def resolve_path(runtime: str, precision: str, metrics: dict[str, float] | None, device: str,
                 bf16: bool | None = None) -> tuple[str, str]:
    """(runtime, precision) for a model with registered ``metrics`` on ``device`` (see the module doc).

    ``bf16``: whether bf16 is a fast path on the device (default: :func:`serves_bf16`).
    """
    if precision == "bf16":
        if runtime == "onnxruntime":
            log.warning("bf16 runs on the transformers runtime; using it instead of ONNX Runtime")
        return "transformers", "bf16"
    if precision == "auto" and runtime in ("auto", "transformers"):
        native = serves_bf16(device) if bf16 is None else bf16
        if native and _holds(metrics, BF16_METRIC):
            return "transformers", "bf16"
        if runtime == "auto" and device == "cpu" and _holds(metrics, INT8_METRIC["transformers"]):
            return "transformers", "int8"
    chosen = resolve_runtime(runtime, device)
    return chosen, resolve_precision(precision, metrics, device, chosen)


def resolve_serving(source: ModelSource, metrics: dict[str, float] | None, runtime: str, precision: str,
                    device: str, variant: str = "auto", bf16: bool | None = None) -> tuple[ModelSource, str, str]:
    """(what to load, runtime, precision): the version's distilled student when it kept the accuracy, else the model.

    A registered version may ship a shallower student (``student/``, :mod:`include.sentiment.distill`) with its
    real-text macro-F1 in fp32 and bf16 (``student_macro_f1``, ``student_bf16_macro_f1``). ``variant``:

    * ``auto`` — the student, at the precision :func:`resolve_path` picks for it, only if its macro-F1 at that
      precision is within :data:`INT8_MAX_F1_DROP` of the *full* model's fp32 ``macro_f1``; else the full model;
    * ``student`` — the student whenever the version has one (its own precision rule as above);
    * ``full`` — always the full model.
    """
    from pathlib import Path

    from include.sentiment.distill import STUDENT_DIR

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    metrics = metrics or {}
    folder = Path(source.path) / STUDENT_DIR
    if variant != "full" and source.origin == "registry" and (folder / "config.json").is_file() and {
            "macro_f1", "student_macro_f1"} <= set(metrics):
        # The student's own reduced-precision scores, under the keys resolve_path reads for a model; its
        # ONNX int8 is not measured, so that path is never picked for it.
        judged = {"macro_f1": metrics["macro_f1"]} | {
            key: metrics[STUDENT_METRIC[p]] for p, key in (("bf16", BF16_METRIC), ("int8", INT8_METRIC["transformers"]))
            if STUDENT_METRIC[p] in metrics}
        chosen_runtime, chosen = resolve_path(runtime, precision, judged, device, bf16)
        key = STUDENT_METRIC.get(chosen) if (chosen_runtime, chosen) != ("onnxruntime", "int8") else None
        if variant == "student" or (key is not None and _holds(metrics, key)):
            student = ModelSource(path=str(folder), version=source.version, origin=source.origin)
            return student, chosen_runtime, chosen
        log.info("the version's student is not within %.2f of the full model's macro-F1 at %s: serving the full "
                 "model", INT8_MAX_F1_DROP, chosen)
    chosen_runtime, chosen = resolve_path(runtime, precision, metrics, device, bf16)
    return source, chosen_runtime, chosen


def load_classifier(source: ModelSource, precision: str = "fp32", device: str = "auto",
                    max_length: int | None = None, runtime: str = "transformers",
                    threads: int | None = None) -> Classifier:
    """Load tokenizer + sequence-classification model from a local folder or the Hub.

    ``runtime="onnxruntime"`` loads the verified ONNX export (:func:`include.sentiment.onnx_export.ensure`)
    into a CPU session with ``threads`` intra-op threads (default: torch's); when that export cannot be had
    (no onnxruntime, a hub model, an exporter error) it logs why and loads the transformers path instead.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    device = pick_device(device)
    tokenizer = AutoTokenizer.from_pretrained(source.path)
    if runtime == "onnxruntime":
        from include.sentiment import onnx_export

        try:
            path = onnx_export.ensure(source.path, precision)
            import torch

            session = onnx_export.session(path, threads or torch.get_num_threads())
            config = AutoConfig.from_pretrained(source.path)
            return make_classifier(session, tokenizer, config, "cpu", precision, max_length, source.version,
                               "onnxruntime")
        except onnx_export.OnnxUnavailable as exc:
            log.warning("ONNX Runtime path unavailable (%s); using transformers-%s", exc, precision)
    elif runtime != "transformers":
        raise ValueError(f"runtime must be onnxruntime or transformers here, got {runtime!r}")
    model = AutoModelForSequenceClassification.from_pretrained(source.path)
    model.eval()
    if precision == "int8":
        model = quantize_int8(model)
    elif precision == "bf16":
        import torch

        model.to(device=device, dtype=torch.bfloat16)
    else:
        model.to(device)
    return make_classifier(model, tokenizer, model.config, device if precision != "int8" else "cpu", precision,
                       max_length, source.version, "transformers")


def make_classifier(model: Any, tokenizer: Any, config: Any, device: str, precision: str, max_length: int | None,
                version: str, runtime: str) -> Classifier:
    id2label = dict(config.id2label)
    label_columns = [LABELS.index(label_of(id2label, i)) for i in range(config.num_labels)]
    window = max_length or getattr(config, "genai_max_length", None) or DEFAULT_MAX_LENGTH
    window = min(int(window), int(getattr(tokenizer, "model_max_length", window) or window))
    return Classifier(model=model, tokenizer=tokenizer, device=device, precision=precision, max_length=window,
                      version=version, label_columns=label_columns, runtime=runtime,
                      student_layers=len(getattr(config, "genai_student_of_layers", None) or []))


def token_lengths(tokenizer: Any, texts: list[str], max_length: int) -> list[int]:
    enc = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=max_length)
    return [len(ids) for ids in enc["input_ids"]]


def classify(clf: Classifier, texts: list[str], batch_size: int = 32, sort_by_length: bool = True,
             log_every: int = 20) -> Scored:
    """Probabilities for ``texts`` (in input order), batch by batch under ``torch.inference_mode()``."""
    import torch

    n = len(texts)
    probs = np.zeros((n, len(LABELS)), dtype=np.float32)
    if n == 0:
        return Scored(labels=[], scores=np.zeros(0, dtype=np.float32), probs=probs, batch_seconds=[])
    order = np.arange(n)
    if sort_by_length:
        order = np.argsort(-np.asarray(token_lengths(clf.tokenizer, texts, clf.max_length)), kind="stable")
    batch_seconds: list[float] = []
    n_batches = (n + batch_size - 1) // batch_size
    if clf.runtime == "onnxruntime":
        feeds = [i.name for i in clf.model.get_inputs()]
        for b in range(n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            start = time.perf_counter()
            enc = clf.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                max_length=clf.max_length, return_tensors="np")
            logits = clf.model.run(["logits"], {k: enc[k].astype(np.int64) for k in feeds})[0]
            probs[np.ix_(idx, clf.label_columns)] = _softmax(logits.astype(np.float32))
            batch_seconds.append(time.perf_counter() - start)
            if log_every and (b + 1) % log_every == 0:
                log.info("scored %d/%d batches (%d rows)", b + 1, n_batches, min((b + 1) * batch_size, n))
        return _scored(probs, batch_seconds)
    with torch.inference_mode():
        for b in range(n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            start = time.perf_counter()
            enc = clf.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                max_length=clf.max_length, return_tensors="pt").to(clf.device)
            logits = clf.model(**enc).logits.float()
            p = torch.softmax(logits, dim=-1).cpu().numpy()
            probs[np.ix_(idx, clf.label_columns)] = p
            batch_seconds.append(time.perf_counter() - start)
            if log_every and (b + 1) % log_every == 0:
                log.info("scored %d/%d batches (%d rows)", b + 1, n_batches, min((b + 1) * batch_size, n))
    return _scored(probs, batch_seconds)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _scored(probs: np.ndarray, batch_seconds: list[float]) -> Scored:
    best = probs.argmax(axis=1)
    return Scored(labels=[LABELS[i] for i in best], scores=probs.max(axis=1), probs=probs,
                  batch_seconds=batch_seconds)
