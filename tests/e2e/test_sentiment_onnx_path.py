"""The champion the training DAG registers carries its ONNX Runtime int8 export, verified and measured.

The registry version's ``onnx/`` files were hashed by the registry like the weights, ``onnx/manifest.json``
names the weights they came from, and the ``onnx_int8_*`` metrics are what that very file scores on the real
cross-domain test set: re-scoring it here gives the same macro-F1. Speed is bench/sentiment_throughput.py's.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.e2e.sentiment_fixtures import trained_sentiment  # noqa: F401 - session fixture


def test_registered_version_ships_the_verified_onnx_export_it_was_measured_with(trained_sentiment):  # noqa: F811
    from include.sentiment import corpus, inference, onnx_export, training
    from include.sentiment.clean import normalize_text
    from include.sentiment.modeling import ModelSource, set_threads

    if not onnx_export.available():
        pytest.skip("onnxruntime is a pinned requirement")
    local = trained_sentiment.local_dir
    manifest = onnx_export.verify(local / onnx_export.ONNX_DIR, local, "int8")
    assert set(manifest["files"]) == {"model_int8.onnx"}
    m = trained_sentiment.metrics
    assert {"onnx_int8_macro_f1", "onnx_int8_accuracy", "onnx_int8_binary_accuracy"} <= set(m)

    set_threads(2)
    source = ModelSource(str(local), "e2e", "registry")
    clf = inference.load_classifier(source, "int8", "cpu", runtime="onnxruntime", threads=2)
    assert clf.path_name == "onnxruntime-int8"
    assert onnx_export.ensure(local, "int8") == local / "onnx" / "model_int8.onnx"  # no re-export needed
    test = corpus.load_test_set()
    texts = test["text"].map(normalize_text).tolist()
    served = inference.classify(clf, texts, log_every=0)
    assert training.evaluate(test["label"].tolist(), served.labels)["macro_f1"] == pytest.approx(
        m["onnx_int8_macro_f1"], abs=0.002)  # same file, same texts (ORT thread scheduling aside)
    fp32 = inference.classify(inference.load_classifier(source, "fp32", "cpu"), texts, log_every=0)
    assert float(np.mean(np.asarray(served.labels) == np.asarray(fp32.labels))) >= 0.9
