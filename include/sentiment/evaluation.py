"""Honest quality numbers: a classifier and the VADER lexicon on the same real, cross-domain test texts.

The reported quality of a sentiment model is its score on :func:`include.sentiment.corpus.load_test_set`
(Amazon Fine Food Reviews; no training source is from that product domain or that site's data), next to a
lexicon peer on the *same* texts in the *same* run:

* ``macro_f1`` / ``accuracy`` / per-class ``f1_<label>`` over the three classes;
* ``binary_accuracy``: only rows whose gold label is negative or positive, each forced to negative or positive
  by the sign of a polarity score (the model: P(positive) - P(negative); the lexicon: VADER's compound), a
  tie at 0 counting as positive for both;
* ``binary_accuracy_strict``: the same rows, the 3-class prediction must equal the gold label (neutral = miss);
* ``confusion``: rows = gold, columns = predicted, in :data:`~include.sentiment.LABELS` order.

The lexicon is VADER (PyPI ``vaderSentiment``, MIT) with its documented thresholds: compound >= 0.05 positive,
<= -0.05 negative, else neutral. It is a peer for evaluation only; nothing is trained or tuned on its data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from include.sentiment import LABELS

#: VADER's documented thresholds on the compound score.
VADER_POS, VADER_NEG = 0.05, -0.05
LEXICON_NAME = "vaderSentiment==3.3.2 (compound >= 0.05 positive, <= -0.05 negative, else neutral)"


def quality(y_true: list[str], y_pred: list[str], polarity: np.ndarray | list[float]) -> dict[str, Any]:
    """The metrics of the module doc from gold labels, 3-class predictions and a signed polarity score per row."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    y_true_a, y_pred_a, pol = np.asarray(y_true), np.asarray(y_pred), np.asarray(polarity, dtype=float)
    per_class = f1_score(y_true_a, y_pred_a, labels=list(LABELS), average=None, zero_division=0)
    polar = y_true_a != "neutral"
    forced = np.where(pol[polar] >= 0, "positive", "negative")
    out: dict[str, Any] = {
        "macro_f1": float(f1_score(y_true_a, y_pred_a, labels=list(LABELS), average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true_a, y_pred_a)),
        "binary_accuracy": float((forced == y_true_a[polar]).mean()) if polar.any() else 0.0,
        "binary_accuracy_strict": float((y_pred_a[polar] == y_true_a[polar]).mean()) if polar.any() else 0.0,
        "confusion": confusion_matrix(y_true_a, y_pred_a, labels=list(LABELS)).tolist(),
        "n": len(y_true_a),
    }
    out.update({f"f1_{label}": float(v) for label, v in zip(LABELS, per_class, strict=True)})
    return out


def lexicon_scores(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """VADER labels and compound scores for ``texts``."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    compound = np.array([analyzer.polarity_scores(t)["compound"] for t in texts], dtype=float)
    labels = np.where(compound >= VADER_POS, "positive", np.where(compound <= VADER_NEG, "negative", "neutral"))
    return labels.tolist(), compound


def lexicon_quality(texts: list[str], y_true: list[str]) -> dict[str, Any]:
    labels, compound = lexicon_scores(texts)
    return quality(y_true, labels, compound) | {"name": LEXICON_NAME}


def model_logits(model: Any, tokenizer: Any, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """(n, labels) logits; batches sorted by length, results in input order."""
    import torch

    model.eval()
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            idx = order[i : i + batch_size]
            enc = tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt")
            out[idx] = model(**enc).logits.float().numpy()
    return out


def model_probs(model: Any, tokenizer: Any, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """(n, 3) class probabilities in LABELS order (the softmax of :func:`model_logits`)."""
    import torch

    return torch.softmax(torch.from_numpy(model_logits(model, tokenizer, texts, max_length, batch_size)), -1).numpy()


def model_quality(probs: np.ndarray, y_true: list[str]) -> dict[str, Any]:
    pred = [LABELS[i] for i in probs.argmax(1)]
    return quality(y_true, pred, probs[:, LABELS.index("positive")] - probs[:, LABELS.index("negative")])


def flat(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric metrics as ``{prefix}{name}: float`` (registry metrics are flat numbers; confusion goes elsewhere)."""
    return {f"{prefix}{k}": float(v) for k, v in metrics.items() if isinstance(v, int | float) and k != "n"}
