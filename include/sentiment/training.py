"""The offline champion: fine-tune a small transformer on labeled feedback, evaluate, save safetensors.

Why a hand-written loop instead of ``transformers.Trainer``: Trainer needs ``accelerate`` (not part of
this project's pinned stack) and brings evaluation/checkpoint machinery we do not need for a
one-to-two-epoch fine-tune of a 23M-parameter model; the loop below is the standard AdamW +
linear-warmup recipe from the transformers docs, in 20 lines.

Labeled set and its provenance: by default the set is generated deterministically by
``include.sentiment.labeled_set.labeled_examples`` (template sentences about product aspects with a known
sentiment, balanced labels, fixed seed). The held-out split is *template-disjoint*: one phrase template
per label never appears in training, so the reported macro-F1 measures generalization to unseen
wording, not memorization of the templates. A team with real labels passes a CSV (``text,label``).
"""

from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from include.sentiment import LABELS
from include.sentiment.clean import normalize_text

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from include.sentiment.config import TrainingConfig

log = logging.getLogger(__name__)

#: The task whose verdict this module's gate is (status_details["decided_by"]).
DECIDED_BY = "train_sentiment_model.promote"


@dataclass
class TrainResult:
    model: Any
    tokenizer: Any
    metrics: dict[str, float]
    split: dict[str, int]
    seconds: float
    history: list[float] = field(default_factory=list)


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.escape(template).replace(re.escape("{a}"), r"[a-z ]+"))


def demo_labeled_set(n: int, seed: int = 7) -> pd.DataFrame:
    """The shipped labeled set: ``labeled_examples(n, seed)`` plus which texts use a held-out template.

    The last phrase template of each label is the held-out one (``holdout`` column): see the
    module docstring for why the split is template-disjoint.
    """
    from include.sentiment.labeled_set import PHRASES, labeled_examples

    held_out = [_template_pattern(PHRASES[label][-1]) for label in LABELS]
    rows = [(text, label, any(p.search(text) for p in held_out)) for text, label in labeled_examples(n, seed)]
    return pd.DataFrame(rows, columns=["text", "label", "holdout"])


def read_labeled_csv(text: str, test_share: float = 0.2, seed: int = 7) -> pd.DataFrame:
    """A team's own labeled CSV (``text,label``): a stratified random held-out split."""
    import io

    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(io.StringIO(text))
    missing = {"text", "label"} - set(frame.columns)
    if missing:
        raise ValueError(f"labeled CSV needs columns text,label; missing {sorted(missing)}")
    frame["label"] = frame["label"].str.lower().str.strip()
    bad = sorted(set(frame["label"]) - set(LABELS))
    if bad:
        raise ValueError(f"labeled CSV has labels {bad}; expected {LABELS}")
    _, test_idx = train_test_split(frame.index, test_size=test_share, random_state=seed, stratify=frame["label"])
    frame["holdout"] = frame.index.isin(test_idx)
    return frame[["text", "label", "holdout"]]


def labeled_csv_path(value: str) -> ObjectStoragePath:
    """The lake path of a labeled CSV named by a raw-zone key or a lake URI; nothing outside ``raw/``.

    A Param is typed by whoever triggers the DAG: without this check ``labeled_csv_uri`` read any file
    the worker can see. The knob's ``pattern`` refuses the obvious mistakes in the form; this refuses
    the rest (``..``, another zone, another bucket) through the lake's one path guard.
    """
    from include.platform import storage
    from include.platform.errors import ConfigError

    fix = ("put the CSV under the lake's raw/ zone and pass its key (e.g. labels/team.csv) "
           "or its full lake URI")
    if not value.endswith(".csv"):
        raise ConfigError(f"labeled_csv_uri {value!r} does not name a .csv file", fix)
    try:
        path = storage.path_from_uri(value, zone_name="raw") if "://" in value else storage.lake_path("raw", value)
    except (ValueError, ImportError) as exc:  # PathRefused is a ValueError; so is an unknown protocol
        raise ConfigError(f"labeled_csv_uri {value!r} is refused: {exc}", fix) from exc
    if not path.is_file():
        raise ConfigError(f"labeled_csv_uri {value!r}: no file at {path}", fix)
    return path


def read_labeled_csv_text(path: ObjectStoragePath) -> str:
    """The CSV as text; a file that is not UTF-8 fails at once naming where, instead of a bare decode error."""
    from include.platform import storage
    from include.platform.errors import PermanentError
    from include.platform.lines import NotUtf8, decode_utf8

    try:
        return decode_utf8(storage.read_bytes(path))
    except NotUtf8 as exc:
        raise PermanentError(f"labeled CSV {path} is not UTF-8: byte 0x{exc.byte:02x} at offset {exc.byte_offset} "
                             f"(line {exc.line})", "re-export the file as UTF-8") from exc


def labeled_set(cfg: TrainingConfig) -> tuple[pd.DataFrame, str, str]:
    """(labeled frame with its ``holdout`` column, provenance, kind of held-out split) for a run.

    ``labeled_csv_uri`` set: the team's CSV from the lake's raw/ zone (stratified random split);
    else the generated demo set (template-disjoint split).
    """
    if cfg.labeled_csv_uri:
        path = labeled_csv_path(cfg.labeled_csv_uri)
        return read_labeled_csv(read_labeled_csv_text(path), seed=cfg.seed), str(path), "stratified random"
    provenance = f"include.sentiment.labeled_set.labeled_examples(n={cfg.examples}, seed={cfg.seed})"
    return demo_labeled_set(cfg.examples, cfg.seed), provenance, "template-disjoint"


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_for_training(base_model: str) -> tuple[Any, Any, str]:
    """Tokenizer + a fresh 3-label classification head on ``base_model`` (local, package or hub)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from include.sentiment.modeling import resolve_source

    source = resolve_source(base_model)
    tokenizer = AutoTokenizer.from_pretrained(source.path)
    model = AutoModelForSequenceClassification.from_pretrained(
        source.path,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        ignore_mismatched_sizes=True,  # a hub SST-2 head has 2 labels; we train a fresh 3-label head
    )
    return model, tokenizer, source.version


def freeze_lower_layers(model: Any, trainable_layers: int) -> int:
    """Freeze embeddings and all but the top ``trainable_layers`` encoder layers; return trainable params."""
    if trainable_layers > 0:
        base = getattr(model, model.base_model_prefix)
        layers = base.encoder.layer if hasattr(base, "encoder") else base.transformer.layer
        frozen = [base.embeddings, *layers[: max(0, len(layers) - trainable_layers)]]
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def predict_labels(model: Any, tokenizer: Any, texts: list[str], max_length: int, batch_size: int = 64) -> list[str]:
    import torch

    model.eval()
    out: list[str] = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(texts[i : i + batch_size], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt")
            out.extend(LABELS[j] for j in model(**enc).logits.argmax(-1).tolist())
    return out


def evaluate(y_true: list[str], y_pred: list[str]) -> dict[str, float]:
    """Macro-F1 (the gate), accuracy and per-class F1, from scikit-learn."""
    from sklearn.metrics import accuracy_score, f1_score

    per_class = f1_score(y_true, y_pred, labels=list(LABELS), average=None, zero_division=0)
    metrics = {
        "macro_f1": float(f1_score(y_true, y_pred, labels=list(LABELS), average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
    }
    metrics.update({f"f1_{label}": float(v) for label, v in zip(LABELS, per_class, strict=True)})
    return metrics


def fine_tune(frame: pd.DataFrame, config: TrainingConfig) -> TrainResult:
    """Fine-tune on ``frame[~holdout]`` and evaluate on ``frame[holdout]``."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    from include.sentiment.modeling import set_threads

    start = time.perf_counter()
    set_threads(config.threads)
    _seed_everything(config.seed)
    frame = frame.assign(text=frame["text"].map(normalize_text))
    train, test = frame[~frame["holdout"]], frame[frame["holdout"]]
    if train.empty or test.empty:
        raise ValueError(f"need both a training and a held-out split; got {len(train)} / {len(test)} rows")
    model, tokenizer, base_version = load_for_training(config.base_model)
    trainable = freeze_lower_layers(model, config.trainable_layers)
    log.info("fine-tuning %s: %d trainable parameters, %d train / %d held-out rows",
             base_version, trainable, len(train), len(test))
    enc = tokenizer(train["text"].tolist(), padding="max_length", truncation=True, max_length=config.max_length,
                    return_tensors="pt")
    y = torch.tensor([LABELS.index(label) for label in train["label"]])
    steps_per_epoch = (len(train) + config.batch_size - 1) // config.batch_size
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * config.WARMUP_SHARE), total)
    generator = torch.Generator().manual_seed(config.seed)
    history: list[float] = []
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(len(train), generator=generator)
        running = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            # Trim the batch to its longest row: most feedback is far shorter than max_length.
            mask = enc["attention_mask"][idx]
            width = int(mask.sum(1).max())
            batch = {k: v[idx][:, :width] for k, v in enc.items()}
            loss = model(**batch, labels=y[idx]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            running += float(loss.detach())
            if (step + 1) % 10 == 0:
                log.info("epoch %d step %d/%d loss %.4f", epoch + 1, step + 1, steps_per_epoch, running / (step + 1))
        history.append(running / steps_per_epoch)
        log.info("epoch %d done: mean loss %.4f (%.1fs)", epoch + 1, history[-1], time.perf_counter() - start)
    y_pred = predict_labels(model, tokenizer, test["text"].tolist(), config.max_length)
    metrics = evaluate(test["label"].tolist(), y_pred)
    model.config.update({"genai_base_model": base_version, "genai_max_length": config.max_length})
    seconds = time.perf_counter() - start
    log.info("held-out metrics %s after %.1fs", metrics, seconds)
    return TrainResult(model=model, tokenizer=tokenizer, metrics=metrics,
                       split={"train": len(train), "holdout": len(test)}, seconds=seconds, history=history)


def save(result: TrainResult, out_dir: str | Path) -> Path:
    """Weights as safetensors + config + tokenizer files: what the registry accepts (no pickles)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result.model.save_pretrained(out, safe_serialization=True)
    result.tokenizer.save_pretrained(out)
    return out


def evaluate_int8(result: TrainResult, frame: pd.DataFrame, config: TrainingConfig) -> dict[str, float]:
    """Held-out metrics of the dynamic-int8 copy, prefixed ``int8_``: the input to ``auto`` precision."""
    from include.sentiment.inference import quantize_int8

    test = frame[frame["holdout"]]
    texts = test["text"].map(normalize_text).tolist()
    quantized = quantize_int8(result.model)
    metrics = evaluate(test["label"].tolist(), predict_labels(quantized, result.tokenizer, texts, config.max_length))
    log.info("int8 held-out metrics %s", metrics)
    return {f"int8_{k}": v for k, v in metrics.items()}


def gate_and_promote(name: str, trained: dict[str, Any], min_f1: float,
                     context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Promote when the held-out macro-F1 clears ``min_f1`` and is not worse than the champion's.

    The verdict goes through the platform lifecycle (:mod:`include.platform.lifecycle`): promoted
    versions become ``champion`` (the old one ``retired``, alias ``previous``); a version that fails
    stays registered as evidence with status ``rejected``, its reasons and one alert. The returned
    ``asset_extra`` is what the promote task attaches to its ``sentiment_model`` event.
    """
    from include.platform import lifecycle, registry

    f1 = float(trained["metrics"]["macro_f1"])
    champion = registry.aliases(name).get("champion")
    champion_f1 = registry.get_version(name, champion).metrics.get("macro_f1", 0.0) if champion else None
    metrics = {"macro_f1": f1, "min_macro_f1": float(min_f1)} | (
        {"champion_macro_f1": float(champion_f1)} if champion_f1 is not None else {})
    if f1 < min_f1:
        decision, reason = "reject", f"held-out macro-F1 {f1:.3f} < required {min_f1:.2f}"
    elif champion_f1 is not None and f1 < champion_f1:
        decision, reason = "reject", f"held-out macro-F1 {f1:.3f} < champion {name}/{champion}'s {champion_f1:.3f}"
    else:
        decision = "promote"
        reason = f"held-out macro-F1 {f1:.3f} >= required {min_f1:.2f}" + (
            f" and >= champion {name}/{champion}'s {champion_f1:.3f}" if champion_f1 is not None else "")
    applied = lifecycle.apply_verdict(name, trained["version"], lifecycle.Verdict(
        decision, DECIDED_BY, reasons=(reason,), metrics=metrics), context=context)
    out = {"promoted": decision == "promote", "version": applied.version, "macro_f1": f1,
           "status": str(applied.status), "asset_extra": applied.extra}
    if decision == "promote":
        return out | {"previous": champion}
    log.warning("%s/%s not promoted: %s", name, trained["version"], reason)
    return out | {"reason": reason}
