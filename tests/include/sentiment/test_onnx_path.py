"""The ONNX Runtime path: deterministic verified export, agreement with PyTorch fp32 on real text, fallback.

One small model for the module: the shipped MiniLM fine-tuned briefly on the shipped real corpus (top two
layers, 600 rows, 2 epochs), so its predictions on the real test texts mean something. No timing asserts here:
speed lives in bench/sentiment_throughput.py.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from include.sentiment import inference, onnx_export  # noqa: E402
from include.sentiment.modeling import ModelSource  # noqa: E402

pytestmark = pytest.mark.skipif(not onnx_export.available(), reason="onnxruntime is a pinned requirement")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from include.sentiment import training
    from include.sentiment.config import TrainingConfig
    from include.sentiment.modeling import set_threads

    set_threads(2)
    cfg = TrainingConfig.from_params({"train_rows": 600, "examples": 0, "epochs": 2, "trainable_layers": 2,
                                      "max_length": 64, "learning_rate": 1e-3, "threads": 2})
    result = training.fine_tune(training.training_data(cfg).frame, cfg)
    return training.save(result, tmp_path_factory.mktemp("onnx") / "model")


@pytest.fixture(scope="module")
def real_texts():
    from include.sentiment import corpus
    from include.sentiment.clean import normalize_text

    test = corpus.load_test_set().sample(n=300, random_state=3)
    return test["text"].map(normalize_text).tolist()


@pytest.fixture(scope="module")
def exported(model_dir, tmp_path_factory):
    """The same weights exported twice into two folders."""
    root = tmp_path_factory.mktemp("exports")
    return (onnx_export.export(model_dir, root / "a", precisions=("int8", "fp32")),
            onnx_export.export(model_dir, root / "b", precisions=("int8", "fp32")))


def test_export_is_deterministic_and_verified(model_dir, exported):
    a, b = exported
    manifest = onnx_export.verify(a, model_dir)
    assert (a / onnx_export.MANIFEST).read_bytes() == (b / onnx_export.MANIFEST).read_bytes()
    assert set(manifest["files"]) == {"model_int8.onnx", "model_fp32.onnx"}
    for name in manifest["files"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # the fused graph and the careful quantization are what was exported, not just claimed
    assert manifest["fusions"].get("Attention") == 6 and manifest["fusions"].get("SkipLayerNormalization")
    assert "/classifier/Gemm" in manifest["quantization"]["kept_fp32_nodes"]
    assert manifest["source_sha256"] == onnx_export.source_digest(model_dir)


def test_verify_refuses_tampered_files_and_other_weights(model_dir, exported, tmp_path):
    copy = shutil.copytree(exported[0], tmp_path / "copy")
    data = bytearray((copy / "model_int8.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model_int8.onnx").write_bytes(bytes(data))
    with pytest.raises(onnx_export.OnnxUnavailable, match="does not match"):
        onnx_export.verify(copy, model_dir)
    other = shutil.copytree(model_dir, tmp_path / "other-model")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(config | {"genai_max_length": 32}))
    with pytest.raises(onnx_export.OnnxUnavailable, match="other weights"):
        onnx_export.verify(exported[0], other)


def test_ensure_uses_the_shipped_export_else_builds_a_verified_cache(model_dir, exported, tmp_path):
    folder = shutil.copytree(model_dir, tmp_path / "version")
    shutil.copytree(exported[0], folder / onnx_export.ONNX_DIR)  # as a registry version ships it
    assert onnx_export.ensure(folder, "int8") == folder / "onnx" / "model_int8.onnx"
    assert not onnx_export.cache_dir_for(folder).exists()
    (folder / "onnx" / "model_int8.onnx").write_bytes(b"not a model")  # tampered: never served
    path = onnx_export.ensure(folder, "int8")
    assert path.parent == onnx_export.cache_dir_for(folder)
    onnx_export.verify(path.parent, folder, "int8")
    assert path.read_bytes() == (exported[0] / "model_int8.onnx").read_bytes()


def test_onnx_paths_agree_with_pytorch_fp32_on_real_texts(model_dir, exported, real_texts, tmp_path):
    folder = shutil.copytree(model_dir, tmp_path / "version")
    shutil.copytree(exported[0], folder / onnx_export.ONNX_DIR)
    source = ModelSource(str(folder), "t", "package")
    ref = inference.classify(inference.load_classifier(source, "fp32", "cpu"), real_texts)
    ort32 = inference.load_classifier(source, "fp32", "cpu", runtime="onnxruntime", threads=2)
    ort8 = inference.load_classifier(source, "int8", "cpu", runtime="onnxruntime", threads=2)
    assert (ort32.path_name, ort8.path_name) == ("onnxruntime-fp32", "onnxruntime-int8")
    fp32, int8 = inference.classify(ort32, real_texts, batch_size=16), inference.classify(ort8, real_texts)
    assert np.allclose(fp32.probs, ref.probs, atol=1e-4)  # same graph, other runtime: same numbers
    assert fp32.labels == ref.labels
    # int8: labels agree with fp32 (0.997 measured), probabilities stay close
    same = np.asarray(int8.labels) == np.asarray(ref.labels)
    assert same.mean() >= 0.98, same.mean()
    assert np.abs(int8.probs - ref.probs).mean() < 0.03
    assert len(set(ref.labels)) == 3  # the model really separates the classes on these texts


def test_falls_back_to_transformers_when_no_export_can_be_had(model_dir, real_texts, tmp_path, monkeypatch,
                                                               caplog):
    folder = shutil.copytree(model_dir, tmp_path / "version")

    def broken(*_a, **_k):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(onnx_export, "_export_fp32", broken)
    clf = inference.load_classifier(ModelSource(str(folder), "t", "package"), "int8", "cpu", runtime="onnxruntime")
    assert clf.path_name == "transformers-int8"
    assert "ONNX Runtime path unavailable" in caplog.text and "exporter exploded" in caplog.text
    assert not onnx_export.cache_dir_for(folder).exists() and not list(tmp_path.glob(".*onnx-cache*"))
    assert len(inference.classify(clf, real_texts[:8]).labels) == 8


def test_runtime_and_precision_resolution(monkeypatch):
    ok = {"macro_f1": 0.74, "onnx_int8_macro_f1": 0.735, "int8_macro_f1": 0.72}
    assert inference.resolve_path("auto", "auto", ok, "cpu", bf16=False) == ("onnxruntime", "int8")
    worse = ok | {"onnx_int8_macro_f1": 0.72}
    assert inference.resolve_path("auto", "auto", worse, "cpu", bf16=False) == ("onnxruntime", "fp32")
    assert inference.resolve_path("transformers", "auto", ok, "cpu", bf16=False) == ("transformers", "fp32")
    assert inference.resolve_path("auto", "auto", ok, "cuda", bf16=False) == ("transformers", "fp32")
    assert inference.resolve_path("onnxruntime", "int8", {}, "cuda") == ("transformers", "fp32")
    assert inference.resolve_path("auto", "auto", {}, "cpu", bf16=True) == ("onnxruntime", "fp32")  # an older version
    # PyTorch dynamic int8 held: it serves on CPUs without AMX (measured faster than the ONNX int8 export)
    held = ok | {"int8_macro_f1": 0.735}
    assert inference.resolve_path("auto", "auto", held, "cpu", bf16=False) == ("transformers", "int8")
    assert inference.resolve_path("onnxruntime", "auto", held, "cpu", bf16=False) == ("onnxruntime", "int8")
    assert inference.resolve_path("auto", "auto", held, "cuda", bf16=False) == ("transformers", "fp32")
    assert inference.resolve_path("auto", "auto", held | {"bf16_macro_f1": 0.738}, "cpu", bf16=True) == (
        "transformers", "bf16")
    with pytest.raises(ValueError, match="runtime"):
        inference.resolve_runtime("tensorrt", "cpu")
    monkeypatch.setattr(onnx_export, "available", lambda: False)  # a worker image without onnxruntime
    assert inference.resolve_path("auto", "auto", ok, "cpu", bf16=False) == ("transformers", "fp32")


def test_bf16_is_chosen_only_where_native_and_accurate():
    """AMX CPUs (and bf16 GPUs) serve bf16 when its real-text macro-F1 held; elsewhere the int8/fp32 rule stands."""
    ok = {"macro_f1": 0.74, "onnx_int8_macro_f1": 0.735, "bf16_macro_f1": 0.738}
    assert inference.resolve_path("auto", "auto", ok, "cpu", bf16=True) == ("transformers", "bf16")
    assert inference.resolve_path("transformers", "auto", ok, "cpu", bf16=True) == ("transformers", "bf16")
    assert inference.resolve_path("auto", "auto", ok, "cuda", bf16=True) == ("transformers", "bf16")
    assert inference.resolve_path("auto", "auto", ok, "cpu", bf16=False) == ("onnxruntime", "int8")
    assert inference.resolve_path("auto", "auto", ok | {"bf16_macro_f1": 0.72}, "cpu", bf16=True) == (
        "onnxruntime", "int8")  # bf16 lost 0.02: not served
    assert inference.resolve_path("onnxruntime", "auto", ok, "cpu", bf16=True) == ("onnxruntime", "int8")
    assert inference.resolve_path("onnxruntime", "bf16", {}, "cpu", bf16=False) == ("transformers", "bf16")
    assert inference.resolve_path("auto", "fp32", ok, "cpu", bf16=True) == ("onnxruntime", "fp32")
    with pytest.raises(ValueError, match="precision"):
        inference.resolve_precision("fp16", ok, "cpu")
