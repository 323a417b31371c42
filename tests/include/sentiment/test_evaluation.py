"""The honest-evaluation metrics: hand-checked numbers, the lexicon's thresholds, the gate's lexicon rule."""

from __future__ import annotations

import numpy as np
import pytest

from include.sentiment import evaluation


def test_quality_by_hand():
    gold = ["negative", "neutral", "positive", "positive", "negative", "neutral"]
    pred = ["negative", "positive", "positive", "neutral", "positive", "neutral"]
    polarity = [-0.9, 0.2, 0.8, 0.1, 0.3, 0.0]
    q = evaluation.quality(gold, pred, polarity)
    assert q["accuracy"] == pytest.approx(3 / 6)
    assert q["confusion"] == [[1, 0, 1], [0, 1, 1], [0, 1, 1]]
    # gold neg/pos rows: forced by polarity sign -> negative, positive, positive(0.1), positive(0.3): 3 of 4 right
    assert q["binary_accuracy"] == pytest.approx(3 / 4)
    # strict: the 3-class prediction must match: negative ok, positive ok, neutral miss, positive miss
    assert q["binary_accuracy_strict"] == pytest.approx(2 / 4)
    f1 = {k: q[f"f1_{k}"] for k in ("negative", "neutral", "positive")}
    assert f1 == pytest.approx({"negative": 2 / 3, "neutral": 1 / 2, "positive": 2 / 5})
    assert q["macro_f1"] == pytest.approx(np.mean(list(f1.values())))
    assert evaluation.flat("x_", q) == {f"x_{k}": float(v) for k, v in q.items() if k not in ("confusion", "n")}


def test_lexicon_uses_vader_thresholds():
    labels, compound = evaluation.lexicon_scores(["I love it, wonderful!", "It is a box.", "Awful, I hate it."])
    assert labels == ["positive", "neutral", "negative"]
    assert compound[0] >= 0.05 and -0.05 < compound[1] < 0.05 and compound[2] <= -0.05


def test_model_quality_reads_probabilities_in_label_order():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]])
    q = evaluation.model_quality(probs, ["negative", "neutral", "negative"])
    assert q["confusion"] == [[1, 0, 1], [0, 1, 0], [0, 0, 0]] and q["binary_accuracy"] == pytest.approx(0.5)
