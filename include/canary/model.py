"""The ``canary_demo`` model family: a hashed bag-of-words logistic regression in numpy.

Why a hand-written numpy model: the canary needs two real, registry-loadable models that start in
milliseconds inside a model server on a 2-core machine. A transformer would cost seconds and hundreds
of MB per server. A logistic regression is one matrix and a bias, saved with safetensors: plain
arrays, nothing executable on load. (The registry refuses pickle-based files — ``.pkl``, ``.joblib``,
``.pt``, ``.bin`` ... — on register and verifies every file's sha256 on download.)

Artifact layout (what ``save``/``load`` read and write)::

    model.safetensors   {"weights": float32[n_features, n_labels], "bias": float32[n_labels]}
    config.json         {"kind": "hashed_logreg", "n_features": ..., "labels": [...]}
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KIND = "hashed_logreg"
TOKEN = re.compile(r"[a-z']+")


def featurize(texts: list[str], n_features: int) -> np.ndarray:
    """Unigram + bigram counts hashed into ``n_features`` buckets (crc32: stable across processes)."""
    out = np.zeros((len(texts), n_features), dtype=np.float32)
    for i, text in enumerate(texts):
        tokens = TOKEN.findall(str(text).lower())
        grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
        for g in grams:
            out[i, zlib.crc32(g.encode()) % n_features] += 1.0
        norm = np.linalg.norm(out[i])
        if norm > 0:
            out[i] /= norm
    return out


@dataclass
class HashedLogReg:
    weights: np.ndarray
    bias: np.ndarray
    labels: list[str]

    @property
    def n_features(self) -> int:
        return int(self.weights.shape[0])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        logits = featurize(texts, self.n_features) @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, texts: list[str]) -> list[dict]:
        proba = self.predict_proba(texts)
        idx = proba.argmax(axis=1)
        return [{"label": self.labels[j], "score": round(float(proba[i, j]), 4)} for i, j in enumerate(idx)]

    def save(self, directory: str | Path) -> Path:
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file({"weights": self.weights.astype(np.float32), "bias": self.bias.astype(np.float32)},
                  str(directory / "model.safetensors"))
        (directory / "config.json").write_text(json.dumps(
            {"kind": KIND, "n_features": self.n_features, "labels": self.labels}, indent=2))
        return directory


def load(directory: str | Path) -> HashedLogReg:
    from safetensors.numpy import load_file

    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text())
    if config.get("kind") != KIND:
        raise ValueError(f"{directory} holds a {config.get('kind')!r} model, not {KIND!r}")
    tensors = load_file(str(directory / "model.safetensors"))
    return HashedLogReg(weights=tensors["weights"], bias=tensors["bias"], labels=list(config["labels"]))


def train(examples: list[tuple[str, str]], *, n_features: int = 2048, epochs: int = 60,
          lr: float = 2.0, l2: float = 1e-4, seed: int = 0) -> HashedLogReg:
    """Full-batch gradient descent on softmax cross-entropy: about 0.1 s for 300 examples.

    BLAS is limited to one thread: these matrices are tiny, and on a busy 2-core worker OpenBLAS's
    spinning threads made training 20x slower (2.4 s instead of 0.12 s, measured).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _train(examples, n_features=n_features, epochs=epochs, lr=lr, l2=l2, seed=seed)


def _train(examples: list[tuple[str, str]], *, n_features: int, epochs: int, lr: float, l2: float,
           seed: int) -> HashedLogReg:
    labels = sorted({y for _, y in examples})
    x = featurize([t for t, _ in examples], n_features)
    y = np.array([labels.index(lab) for _, lab in examples])
    onehot = np.eye(len(labels), dtype=np.float32)[y]
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.01, size=(n_features, len(labels))).astype(np.float32)
    b = np.zeros(len(labels), dtype=np.float32)
    for _ in range(epochs):
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot) / len(x)
        w -= lr * (x.T @ grad + l2 * w)
        b -= lr * grad.sum(axis=0)
    return HashedLogReg(weights=w, bias=b, labels=labels)


def accuracy(model: HashedLogReg, examples: list[tuple[str, str]]) -> float:
    preds = model.predict([t for t, _ in examples])
    return float(np.mean([p["label"] == y for p, (_, y) in zip(preds, examples, strict=True)]))
