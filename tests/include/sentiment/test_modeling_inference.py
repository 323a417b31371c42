"""Model resolution, label mapping, precision choice, and batched length-sorted inference order."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from include.sentiment import inference  # noqa: E402
from include.sentiment.modeling import LOCAL_MINILM, label_of, resolve_source  # noqa: E402


def test_label_mapping_of_hub_and_our_models():
    assert label_of({0: "NEGATIVE", 1: "POSITIVE"}, 1) == "positive"
    assert label_of({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, 1) == "neutral"
    assert label_of({"0": "negative", "1": "neutral", "2": "positive"}, 2) == "positive"
    with pytest.raises(ValueError, match="does not map"):
        label_of({0: "spam"}, 0)


def test_resolve_source_kinds():
    local = resolve_source(LOCAL_MINILM)
    assert local.origin == "package" and os.path.isdir(local.path)
    hub = resolve_source("distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    assert hub.origin == "hub" and hub.version.startswith("hf:")  # loaded by from_pretrained where a hub exists


def test_auto_precision_follows_the_accuracy_rule():
    assert inference.resolve_precision("auto", {"macro_f1": 0.94, "int8_macro_f1": 0.935}, "cpu") == "int8"
    assert inference.resolve_precision("auto", {"macro_f1": 0.94, "int8_macro_f1": 0.88}, "cpu") == "fp32"
    assert inference.resolve_precision("auto", {"macro_f1": 0.94, "int8_macro_f1": 0.94}, "cuda") == "fp32"
    assert inference.resolve_precision("auto", {}, "cpu") == "fp32"
    assert inference.resolve_precision("int8", {}, "cuda") == "fp32"


def test_sorted_batches_return_rows_in_input_order(tmp_path):
    """Same probabilities with and without length sorting: the sort only changes the batching."""
    from include.sentiment.modeling import ModelSource, set_threads
    from include.sentiment.training import load_for_training

    set_threads(2)
    model, tokenizer, _ = load_for_training(LOCAL_MINILM)  # untrained 3-label head: order is what we test
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    clf = inference.load_classifier(ModelSource(str(tmp_path), "t", "package"), precision="fp32", device="cpu",
                                    max_length=32)
    texts = ["ok", "this is a much longer message about the delivery that took far too long " * 3, "fine", "great app"]
    a = inference.classify(clf, texts, batch_size=2, sort_by_length=True)
    b = inference.classify(clf, texts, batch_size=1, sort_by_length=False)
    assert np.allclose(a.probs, b.probs, atol=1e-4)
    assert np.allclose(a.probs.sum(axis=1), 1.0, atol=1e-5) and ((a.scores >= 0) & (a.scores <= 1)).all()
    assert len(a.batch_seconds) == 2 and a.labels == b.labels
