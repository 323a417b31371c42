"""Batched transformers inference: sorted by token length, inference mode, threads pinned, GPU if any.

Why sorting matters: a batch is padded to its longest text, so one 500-token message in a batch of
short ones makes the whole batch cost 500 tokens (the transformers docs measure a 4.9x slowdown
for mixed lengths at batch size 64). Sorting by length first makes every batch nearly uniform;
results are put back in input order before they are returned.

Precision: ``fp32`` or ``int8`` (PyTorch dynamic quantization of the Linear layers, CPU only).
``auto`` takes int8 only when the model's registered held-out macro-F1 under int8 is within
``INT8_MAX_F1_DROP`` of fp32 (the training DAG measures both), so speed never silently costs accuracy.
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


def resolve_precision(requested: str, metrics: dict[str, float] | None, device: str) -> str:
    """``fp32`` / ``int8`` as asked; ``auto`` → int8 only on CPU and only if its F1 held (see module doc)."""
    if requested in ("fp32", "int8"):
        if requested == "int8" and device != "cpu":
            log.warning("int8 dynamic quantization is CPU-only; using fp32 on %s", device)
            return "fp32"
        return requested
    if requested != "auto":
        raise ValueError(f"precision must be auto, fp32 or int8, got {requested!r}")
    metrics = metrics or {}
    if device == "cpu" and "macro_f1" in metrics and "int8_macro_f1" in metrics:
        drop = metrics["macro_f1"] - metrics["int8_macro_f1"]
        if drop <= INT8_MAX_F1_DROP:
            return "int8"
        log.info("auto precision: int8 macro-F1 drop %.4f > %.2f, staying on fp32", drop, INT8_MAX_F1_DROP)
    return "fp32"


def load_classifier(source: ModelSource, precision: str = "fp32", device: str = "auto",
                    max_length: int | None = None) -> Classifier:
    """Load tokenizer + sequence-classification model from a local folder or the Hub."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    device = pick_device(device)
    tokenizer = AutoTokenizer.from_pretrained(source.path)
    model = AutoModelForSequenceClassification.from_pretrained(source.path)
    model.eval()
    if precision == "int8":
        model = quantize_int8(model)
    else:
        model.to(device)
    id2label = dict(model.config.id2label)
    label_columns = [LABELS.index(label_of(id2label, i)) for i in range(model.config.num_labels)]
    window = max_length or getattr(model.config, "genai_max_length", None) or DEFAULT_MAX_LENGTH
    window = min(int(window), int(getattr(tokenizer, "model_max_length", window) or window))
    return Classifier(model=model, tokenizer=tokenizer, device=device if precision != "int8" else "cpu",
                      precision=precision, max_length=window, version=source.version, label_columns=label_columns)


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
    best = probs.argmax(axis=1)
    return Scored(labels=[LABELS[i] for i in best], scores=probs.max(axis=1), probs=probs,
                  batch_seconds=batch_seconds)
