"""The ONNX Runtime path of a sentiment model: export, graph fusion, int8 quantization, verification, sessions.

Why: on 2 CPU cores the per-row ``transformers.pipeline`` is the article's baseline; PyTorch batched fp32
reaches ~3.5x it and PyTorch dynamic int8 ~9x but loses more than 0.01 macro-F1. The ONNX Runtime graph
(``bench/sentiment_throughput.py`` measures every path side by side) is faster at the same precision and its
int8 copy keeps the accuracy, because the quantization here is the careful one:

1. **export** with ``torch.onnx.export`` (TorchScript exporter, opset 17, dynamic batch and sequence axes,
   eager attention so the next step recognises it), one self-contained file;
2. **fuse** with onnxruntime's transformer optimizer (``EmbedLayerNormalization``, ``Attention``,
   ``SkipLayerNormalization``, ``BiasGelu``: one kernel each instead of dozens of small ops);
3. **quantize** the fused graph with ``onnxruntime.quantization.quantize_dynamic``: 8-bit weights with one
   scale **per output channel** (per-tensor scales cost the accuracy PyTorch's dynamic int8 loses), activations
   quantized per batch at run time (no calibration set needed, so nothing can leak from a test set), and the
   sensitive tail — pooler and classifier, whose few weights decide the label — left in fp32.

Where the files come from: ``train_sentiment_model`` exports ``onnx/model_int8.onnx`` beside the safetensors
weights, so the registry version carries it and its sha256 (downloads are verified). A version without it (an
older one, or fp32 asked for) is exported lazily into a cache folder next to the registry download
(``<version>.onnx-cache``), once; every use verifies it through :func:`verify` (``manifest.json`` names the
sha256 of the weights it was made from and of every file it holds), and a mismatch is re-exported.

Offline always: everything runs from the local folder; nothing is fetched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from include.platform.registry import sha256_file

log = logging.getLogger(__name__)

ONNX_DIR = "onnx"
MANIFEST = "manifest.json"
FILES = {"fp32": "model_fp32.onnx", "int8": "model_int8.onnx"}
OPSET = 17
FORMAT = 1
#: Node-name parts kept in fp32 when quantizing: the pooler and the classification head.
KEEP_FP32 = ("pooler", "classifier")
#: Files of a saved classifier that define what an export was made from.
SOURCE_FILES = ("model.safetensors", "config.json")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxUnavailable(RuntimeError):
    """The ONNX path cannot serve this model here (no onnxruntime, no local weights, export failed)."""


def source_digest(model_dir: str | Path) -> str:
    """sha256 over the weights and config an export is made from (what its manifest must name)."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        path = model_dir / name
        if not path.is_file():
            raise OnnxUnavailable(f"{model_dir} has no {name}: nothing to export")
        digest.update(name.encode() + b"\0" + sha256_file(path).encode())
    return digest.hexdigest()


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import torch

    return {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def _export_fp32(model_dir: Path, raw: Path) -> tuple[Any, list[str]]:
    """TorchScript-exporter ONNX of the classifier (logits out); returns its config and input names."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    sample = tokenizer(["a short one", "and a somewhat longer second example text"], padding=True,
                       return_tensors="pt")
    names = [k for k in _INPUTS if k in sample]
    dynamic = {k: {0: "batch", 1: "sequence"} for k in names} | {"logits": {0: "batch"}}
    with torch.inference_mode():
        torch.onnx.export(model, tuple(sample[k] for k in names), str(raw), input_names=names,
                          output_names=["logits"], dynamic_axes=dynamic, opset_version=OPSET, dynamo=False,
                          do_constant_folding=True)
    return model.config, names


def _fuse(raw: Path, fused: Path, config: Any) -> dict[str, int]:
    """onnxruntime's transformer fusions for BERT-family graphs; other graphs go on unfused."""
    from onnxruntime.transformers.optimizer import optimize_model

    model_type = getattr(config, "model_type", "")
    if model_type not in ("bert", "distilbert", "roberta"):
        shutil.copyfile(raw, fused)
        return {}
    heads = int(getattr(config, "num_attention_heads", 0) or getattr(config, "n_heads", 0))
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "dim", 0))
    optimized = optimize_model(str(raw), model_type="bert" if model_type == "roberta" else model_type,
                               num_heads=heads, hidden_size=hidden, opt_level=1)
    optimized.save_model_to_file(str(fused))
    return {k: int(v) for k, v in optimized.get_fused_operator_statistics().items() if v}


def _quantize(fused: Path, out: Path) -> list[str]:
    """Dynamic 8-bit, per-channel weights, pooler/classifier kept fp32; returns the excluded node names.

    Weights are *unsigned* 8-bit (U8U8 kernels): on x86 CPUs without VNNI (AVX2 only, like this project's
    workers) ONNX Runtime's U8S8 kernels can saturate their 16-bit intermediate sums, which is accuracy lost
    for nothing. Chosen on the training sources' validation split (label agreement with fp32: u8 per-channel
    0.982, s8 per-channel 0.978, s8 per-tensor 0.955, PyTorch dynamic int8 0.940), never on the test set.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fused), load_external_data=False).graph
    keep = sorted(n.name for n in graph.node if any(part in n.name.lower() for part in KEEP_FP32))
    quantize_dynamic(str(fused), str(out), per_channel=True, weight_type=QuantType.QUInt8, nodes_to_exclude=keep,
                     # fused ops (com.microsoft domain) defeat ONNX shape inference; their outputs are float
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return keep


def export(model_dir: str | Path, out_dir: str | Path | None = None,
           precisions: tuple[str, ...] = ("int8",)) -> Path:
    """Export the saved classifier in ``model_dir`` to ``out_dir`` (default ``model_dir/onnx``); returns it.

    Writes ``model_<precision>.onnx`` for each of ``precisions`` and ``manifest.json``. Deterministic: the
    same weights and library versions give byte-identical files (the test suite checks it).
    """
    model_dir = Path(model_dir)
    out_dir = Path(out_dir) if out_dir else model_dir / ONNX_DIR
    unknown = sorted(set(precisions) - set(FILES))
    if unknown:
        raise ValueError(f"unknown ONNX precisions {unknown}; known {sorted(FILES)}")
    if not available():
        raise OnnxUnavailable("onnxruntime is not installed")
    digest = source_digest(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw, fused = Path(tmp) / "raw.onnx", Path(tmp) / "fused.onnx"
        config, names = _export_fp32(model_dir, raw)
        fusions = _fuse(raw, fused, config)
        kept: list[str] = []
        for precision in precisions:
            target = out_dir / FILES[precision]
            if precision == "int8":
                kept = _quantize(fused, target)
            else:
                shutil.copyfile(fused, target)
    manifest = {
        "format": FORMAT, "source_sha256": digest, "source_files": list(SOURCE_FILES), "opset": OPSET,
        "inputs": names, "outputs": ["logits"], "fusions": fusions,
        "quantization": {"method": "onnxruntime quantize_dynamic", "weights": "uint8 per-channel",
                         "activations": "uint8, dynamic per batch", "kept_fp32_nodes": kept} if kept else None,
        "versions": _versions(),
        "files": {FILES[p]: sha256_file(out_dir / FILES[p]) for p in sorted(precisions)},
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log.info("exported %s to %s: %s, fusions %s", model_dir, out_dir, sorted(manifest["files"]), fusions)
    return out_dir


def verify(onnx_dir: str | Path, model_dir: str | Path, precision: str | None = None) -> dict[str, Any]:
    """The manifest of ``onnx_dir`` if it was made from ``model_dir``'s weights and every file is intact.

    Raises :class:`OnnxUnavailable` naming what does not match (no manifest, other weights, a changed or
    missing file, ``precision`` not exported).
    """
    onnx_dir = Path(onnx_dir)
    path = onnx_dir / MANIFEST
    if not path.is_file():
        raise OnnxUnavailable(f"{onnx_dir} has no {MANIFEST}")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise OnnxUnavailable(f"{path}: format {manifest.get('format')!r}, expected {FORMAT}")
    if manifest.get("source_sha256") != source_digest(model_dir):
        raise OnnxUnavailable(f"{onnx_dir} was exported from other weights than {model_dir}")
    files = manifest.get("files") or {}
    if precision is not None and FILES[precision] not in files:
        raise OnnxUnavailable(f"{onnx_dir} holds no {precision} export")
    for name, digest in files.items():
        file = onnx_dir / name
        if not file.is_file() or sha256_file(file) != digest:
            raise OnnxUnavailable(f"{file} is missing or does not match its manifest sha256")
    return manifest


def cache_dir_for(model_dir: str | Path) -> Path:
    """Where a lazily exported copy of ``model_dir`` lives: beside it (next to the registry download)."""
    model_dir = Path(model_dir)
    return model_dir.with_name(f"{model_dir.name}.onnx-cache")


def ensure(model_dir: str | Path, precision: str) -> Path:
    """A verified ``.onnx`` file of ``precision`` for the classifier in ``model_dir``: shipped or cached.

    Order: the version's own ``onnx/`` (registered at training), then the cache beside the folder; if neither
    verifies, export into a private temp folder and move it into the cache in one rename (concurrent first
    uses each export; the first rename wins and the others verify and use it).
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise OnnxUnavailable(f"{model_dir} is not a local model folder (hub models use the transformers path)")
    for candidate in (model_dir / ONNX_DIR, cache_dir_for(model_dir)):
        try:
            verify(candidate, model_dir, precision)
            return candidate / FILES[precision]
        except OnnxUnavailable as exc:
            if candidate.exists():
                log.info("not using %s: %s", candidate, exc)
    cache = cache_dir_for(model_dir)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.{uuid.uuid4().hex}")
    try:
        export(model_dir, tmp, precisions=tuple(FILES))
        shutil.rmtree(cache, ignore_errors=True)  # a stale or tampered cache
        try:
            tmp.rename(cache)
        except OSError:  # another process won the race: use (and verify) its copy
            pass
    except OnnxUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - any exporter failure means: use the transformers path
        raise OnnxUnavailable(f"ONNX export of {model_dir} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    verify(cache, model_dir, precision)
    return cache / FILES[precision]


def session(path: str | Path, threads: int) -> Any:
    """An ONNX Runtime CPU session: ``threads`` intra-op threads, no spinning (Airflow workers share cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning threads keep burning a core after each run; on shared workers that slows every other task.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_and_evaluate(model_dir: str | Path, max_length: int, threads: int = 2) -> dict[str, Any]:
    """Training step: export ``model_dir/onnx`` (int8) and score it on the real cross-domain test set.

    Returns ``{"metrics": {"onnx_int8_macro_f1": ..., ...}, "quality": {...}}``: the flat numbers go to the
    registry beside the fp32 ``macro_f1`` of the same texts, where ``precision=auto`` compares them. The
    scores come through :func:`include.sentiment.inference.classify` on the exported file itself: what is
    measured is what will be served.
    """
    from transformers import AutoConfig, AutoTokenizer

    from include.sentiment import corpus, evaluation, inference
    from include.sentiment.clean import normalize_text

    model_dir = Path(model_dir)
    export(model_dir, precisions=("int8",))
    path = ensure(model_dir, "int8")
    clf = inference.make_classifier(session(path, threads), AutoTokenizer.from_pretrained(model_dir),
                                AutoConfig.from_pretrained(model_dir), "cpu", "int8", max_length,
                                str(model_dir), "onnxruntime")
    test = corpus.load_test_set()
    texts = test["text"].map(normalize_text).tolist()
    quality = evaluation.model_quality(inference.classify(clf, texts, log_every=0).probs, test["label"].tolist())
    log.info("ONNX int8 export on the cross-domain test set: macro-F1 %.4f", quality["macro_f1"])
    return {"metrics": evaluation.flat("onnx_int8_", quality), "quality": quality}
