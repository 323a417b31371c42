"""A shallower student of the champion: the fast path that keeps the champion's accuracy.

Why distil: on 2 CPU cores the champion (6 encoder layers) in bf16 scores ~4x the article's per-row
``pipeline()``; reduced precision alone stops there (int8 ~2.4x). Halving the depth halves the work per
token again. A student that simply drops layers loses accuracy, so it is trained to reproduce the
champion's output distribution (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network"):
loss = ``alpha`` * T² * KL(teacher_T || student_T) + (1 - ``alpha``) * class-weighted cross-entropy on
the human labels.

Initialisation follows DistilBERT/PKD: the student keeps evenly spaced teacher layers ending with the top
one (6 → 3 keeps layers 1, 3, 5), so the classifier head still reads the representation it was trained on,
and the embeddings (frozen during the champion's fine-tune) are shared.

The student is served only when it keeps the champion's accuracy: its macro-F1 on the real cross-domain
test set, measured at training (``student_macro_f1``), must be within
:data:`include.sentiment.inference.INT8_MAX_F1_DROP` of the champion's fp32 (see
:func:`include.sentiment.inference.resolve_serving`).
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from include.sentiment import LABELS

log = logging.getLogger(__name__)

#: Folder of a registered version that holds its student (beside ``onnx/``).
STUDENT_DIR = "student"


def student_layers(n_teacher: int, n_student: int) -> list[int]:
    """Evenly spaced teacher layers ending with the top one: 6→3 → [1, 3, 5], 6→2 → [2, 5], 12→4 → [2, 5, 8, 11]."""
    if not 0 < n_student <= n_teacher:
        raise ValueError(f"a student needs 1..{n_teacher} layers, got {n_student}")
    step = n_teacher / n_student
    return [int(round((i + 1) * step)) - 1 for i in range(n_student)]


def _layers(model: Any) -> Any:
    base = getattr(model, model.base_model_prefix)
    return base.encoder.layer if hasattr(base, "encoder") else base.transformer.layer


def make_student(teacher: Any, n_layers: int) -> Any:
    """A deep copy of ``teacher`` that keeps :func:`student_layers` of its encoder (config updated to match)."""
    import torch

    student = copy.deepcopy(teacher).float()
    layers = _layers(student)
    keep = student_layers(len(layers), n_layers)
    base = getattr(student, student.base_model_prefix)
    new = torch.nn.ModuleList([layers[i] for i in keep])
    if hasattr(base, "encoder"):
        base.encoder.layer = new
    else:
        base.transformer.layer = new
    student.config.num_hidden_layers = n_layers
    student.config.update({"genai_student_of_layers": keep})
    for p in student.parameters():
        p.requires_grad_(True)
    return student


def teacher_logits(teacher: Any, tokenizer: Any, texts: list[str], max_length: int, bf16: bool = False) -> np.ndarray:
    """(n, labels) logits of the teacher in input order (a bf16 copy where bf16 is native)."""
    import torch

    from include.sentiment.evaluation import model_logits

    return model_logits(copy.deepcopy(teacher).to(torch.bfloat16) if bf16 else teacher, tokenizer, texts, max_length)


def distill(teacher: Any, tokenizer: Any, train: pd.DataFrame, *, layers: int, epochs: int, batch_size: int,
            learning_rate: float, max_length: int, temperature: float = 2.0, alpha: float = 0.5,
            class_weights: bool = True, seed: int = 7, bf16: bool = False, log_every: int = 50) -> Any:
    """Train a ``layers``-deep student of ``teacher`` on ``train`` (``text``, ``label``); returns the student.

    ``bf16``: autocast matmuls to bfloat16 (where the device has it natively); the weights stay fp32.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    from include.sentiment.training import length_bucketed_batches

    started = time.perf_counter()
    torch.manual_seed(seed)
    texts = train["text"].tolist()
    soft = torch.from_numpy(teacher_logits(teacher, tokenizer, texts, max_length, bf16=bf16))
    log.info("teacher logits for %d texts in %.1fs", len(texts), time.perf_counter() - started)
    student = make_student(teacher, layers)
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=max_length, return_tensors="pt")
    y = torch.tensor([LABELS.index(label) for label in train["label"]])
    counts = torch.bincount(y, minlength=len(LABELS)).clamp(min=1).float()
    weight = counts.sum() / (len(LABELS) * counts) if class_weights else None
    ce = torch.nn.CrossEntropyLoss(weight=weight)
    kl = torch.nn.KLDivLoss(reduction="batchmean")
    lengths = enc["attention_mask"].sum(1)
    steps_per_epoch = (len(texts) + batch_size - 1) // batch_size
    total = steps_per_epoch * epochs
    optimizer = torch.optim.AdamW(student.parameters(), lr=learning_rate, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * 0.1), total)
    generator = torch.Generator().manual_seed(seed)
    student.train()
    done = 0
    for epoch in range(epochs):
        running = 0.0
        for step, idx in enumerate(length_bucketed_batches(lengths, batch_size, generator)):
            width = int(lengths[idx].max())
            batch = {k: v[idx][:, :width] for k, v in enc.items()}
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = student(**batch).logits
            logits = logits.float()
            t = temperature
            loss = alpha * t * t * kl(torch.log_softmax(logits / t, -1), torch.softmax(soft[idx] / t, -1)) + (
                1 - alpha) * ce(logits, y[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            running += float(loss.detach())
            done += 1
            if log_every and done % log_every == 0:
                elapsed = time.perf_counter() - started
                log.info("distil epoch %d step %d/%d loss %.4f (%.0fs, ETA %.0fs)", epoch + 1, step + 1,
                         steps_per_epoch, running / (step + 1), elapsed, elapsed / done * (total - done))
    student.eval()
    log.info("distilled a %d-layer student in %.1fs", layers, time.perf_counter() - started)
    return student


def transfer_set(data: Any, cfg: Any) -> pd.DataFrame:
    """What the full model labels for the student: the corpus's 90% training split (``student_rows`` of it,
    stratified by source and label) + the run's generated supplement; a team CSV's training rows instead.

    The same split as :func:`include.sentiment.training.training_data` (same seed), so no validation row and
    no test row is ever seen by the student.
    """
    from include.sentiment import corpus

    frame = data.frame
    own = frame[~frame["holdout"]]
    if cfg.labeled_csv_uri:
        rows = own
    else:
        sources = None if cfg.corpus_sources == "all" else (cfg.corpus_sources,)
        train, _ = corpus.train_validation_split(corpus.load_train_corpus(sources), validation_share=0.1,
                                                 seed=cfg.seed)
        if cfg.student_rows < len(train):
            train = train.groupby(["source", "label"]).sample(frac=cfg.student_rows / len(train),
                                                              random_state=cfg.seed)
        rows = pd.concat([train, own[own["source"] == "generated_templates"]], ignore_index=True)
    from include.sentiment.clean import normalize_text

    return rows[["text", "label"]].assign(text=lambda f: f["text"].map(normalize_text)).reset_index(drop=True)


def build_and_evaluate(result: Any, data: Any, cfg: Any, model_dir: str | Path) -> dict[str, Any]:
    """Training step: distil ``result.model`` into ``model_dir/student`` and score it on the real test set.

    Returns ``{}`` when ``cfg.student_layers`` is 0 (or not fewer than the full model's layers), else
    ``{"metrics": {"student_macro_f1", "student_bf16_macro_f1", "student_layers", ...}, "quality": {...},
    "seconds": ...}``: the flat numbers go to the registry beside the full model's fp32 ``macro_f1`` of the
    same texts, where :func:`include.sentiment.inference.resolve_serving` compares them.
    """
    import torch

    from include.sentiment import corpus, evaluation, inference
    from include.sentiment.clean import normalize_text
    from include.sentiment.modeling import pick_device

    depth = len(_layers(result.model))
    if not 0 < cfg.student_layers < depth:
        if cfg.student_layers:
            log.warning("student_layers=%d is not fewer than the model's %d layers: no student", cfg.student_layers,
                        depth)
        return {}
    started = time.perf_counter()
    bf16 = cfg.mixed_precision == "auto" and inference.native_bf16(pick_device("auto"))
    transfer = transfer_set(data, cfg)
    log.info("distilling a %d-layer student on %d transfer rows (%s)", cfg.student_layers, len(transfer),
             "bf16 autocast" if bf16 else "fp32")
    student = distill(result.model, result.tokenizer, transfer, layers=cfg.student_layers, epochs=cfg.student_epochs,
                      batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, max_length=cfg.max_length,
                      alpha=cfg.student_alpha, class_weights=cfg.class_weights, seed=cfg.seed, bf16=bf16)
    out = Path(model_dir) / STUDENT_DIR
    student.save_pretrained(out, safe_serialization=True)
    result.tokenizer.save_pretrained(out)
    test = corpus.load_test_set()
    texts, gold = test["text"].map(normalize_text).tolist(), test["label"].tolist()
    fp32 = evaluation.model_quality(evaluation.model_probs(student, result.tokenizer, texts, cfg.max_length), gold)
    half = evaluation.model_quality(evaluation.model_probs(copy.deepcopy(student).to(torch.bfloat16),
                                                           result.tokenizer, texts, cfg.max_length), gold)
    # PyTorch dynamic int8: the fastest accurate path on CPUs without AMX (bench/sentiment_throughput.py).
    int8 = evaluation.model_quality(evaluation.model_probs(inference.quantize_int8(student),  # quantizes a copy
                                                           result.tokenizer, texts, cfg.max_length), gold)
    seconds = time.perf_counter() - started
    log.info("student (%d layers) on the cross-domain test set: macro-F1 %.4f fp32, %.4f bf16, %.4f int8 (%.0fs)",
             cfg.student_layers, fp32["macro_f1"], half["macro_f1"], int8["macro_f1"], seconds)
    metrics = (evaluation.flat("student_", fp32) | evaluation.flat("student_bf16_", half)
               | evaluation.flat("student_int8_", int8)
               | {"student_layers": float(cfg.student_layers), "student_seconds": seconds})
    return {"metrics": metrics, "quality": {"fp32": fp32, "bf16": half, "int8": int8, "layers": cfg.student_layers,
                                            "transfer_rows": len(transfer)}, "seconds": seconds}
