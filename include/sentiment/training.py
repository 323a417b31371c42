"""The offline champion: fine-tune the shipped MiniLM on a real labelled corpus, evaluate honestly, save safetensors.

Why a hand-written loop instead of ``transformers.Trainer``: Trainer needs ``accelerate`` (not part of
this project's pinned stack) and brings evaluation/checkpoint machinery we do not need for a
one-to-two-epoch fine-tune of a 23M-parameter model; the loop below is the standard AdamW +
linear-warmup recipe from the transformers docs, with class weights and length-bucketed batches.

Data (:func:`training_data`):

* **real corpus** (default): human-labelled reviews and customer messages shipped in the repository
  (:mod:`include.sentiment.corpus`: Women's E-Commerce Clothing Reviews, CC0, and Twitter US Airline
  Sentiment, CC BY-NC-SA 4.0), split into train / *validation* (stratified by source and label). The
  validation split is the only thing hyper-parameters were tuned on. A team's own ``text,label`` CSV
  replaces it (``labeled_csv_uri``; stratified 20 % validation).
* **generated supplement** (``examples`` rows, optional): template feedback from
  :mod:`include.sentiment.labeled_set`, the language of the demo export, composed only from *training*
  templates; a further set composed only from the reserved templates measures the demo domain
  (``demo_holdout_*``, template-disjoint: no held-out row shares a sentence template with training).

The *reported* quality is not any of those: it is the cross-domain test set
(:func:`include.sentiment.corpus.load_test_set`, Amazon Fine Food Reviews) scored by
:func:`honest_evaluation`, next to the VADER lexicon on the same texts (:mod:`include.sentiment.evaluation`).
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
    """``n`` generated rows with a template-disjoint ``holdout`` column (a quarter, at least 3, held out).

    Training rows use only the training templates and held-out rows only the reserved ones
    (:func:`include.sentiment.labeled_set.template_split`), so the held-out score measures unseen wording.
    """
    from include.sentiment.labeled_set import template_split

    n_hold = max(3, n // 4)
    train, held = template_split(n - n_hold, n_hold, seed)
    rows = [(t, label, False) for t, label in train] + [(t, label, True) for t, label in held]
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


@dataclass
class TrainingData:
    """What one run trains and tunes on, and where it came from."""

    #: ``text, label, source, holdout``: ``holdout`` rows are the validation split (tuning, never training).
    frame: pd.DataFrame
    #: ``text, label``: generated rows from the reserved templates only (empty without a supplement).
    demo_holdout: pd.DataFrame
    #: names, sizes, licences (registry metadata and the run's report).
    card: dict[str, Any]


#: Validation rows scored after training (a seeded, stratified sample of the validation split).
VALIDATION_ROWS = 600


def training_data(cfg: TrainingConfig) -> TrainingData:
    """The real corpus (or the team's CSV) + the optional generated supplement, split as the module doc says."""
    from include.sentiment import corpus
    from include.sentiment.labeled_set import template_split

    if cfg.labeled_csv_uri:
        path = labeled_csv_path(cfg.labeled_csv_uri)
        real = read_labeled_csv(read_labeled_csv_text(path), seed=cfg.seed).assign(source="team_csv")
        card: dict[str, Any] = {"train_data": {"names": ["team_csv"], "uri": str(path), "licenses": {},
                                               "split": "stratified random 20% validation"}}
    else:
        sources = None if cfg.corpus_sources == "all" else (cfg.corpus_sources,)
        full = corpus.load_train_corpus(sources)
        train, val = corpus.train_validation_split(full, validation_share=0.1, seed=cfg.seed)
        if cfg.train_rows < len(train):
            train = train.groupby(["source", "label"]).sample(frac=cfg.train_rows / len(train), random_state=cfg.seed)
        if len(val) > VALIDATION_ROWS:
            val = val.groupby(["source", "label"]).sample(frac=VALIDATION_ROWS / len(val), random_state=cfg.seed)
        real = pd.concat([train.assign(holdout=False), val.assign(holdout=True)], ignore_index=True)
        base = corpus.data_card()["train_data"]
        card = {"train_data": base | {"corpus_sources": cfg.corpus_sources,
                                      "split": "stratified by source and label, 10% validation"}}
    real = real[["text", "label", "source", "holdout"]]
    demo_holdout = pd.DataFrame(columns=["text", "label"])
    parts = [real]
    if cfg.examples > 0:
        gen_train, gen_hold = template_split(cfg.examples, max(30, cfg.examples // 4), cfg.seed)
        parts.append(pd.DataFrame(gen_train, columns=["text", "label"]).assign(source="generated_templates",
                                                                               holdout=False))
        demo_holdout = pd.DataFrame(gen_hold, columns=["text", "label"])
    frame = pd.concat(parts, ignore_index=True)
    used = frame[~frame["holdout"]]
    card["train_data"] |= {
        "rows_used": int(len(used)),
        "rows_used_by_source": {k: int(v) for k, v in used["source"].value_counts().sort_index().items()},
        "validation_rows": int(frame["holdout"].sum()),
        "generated_supplement": (f"include.sentiment.labeled_set.template_split(n_train={cfg.examples}, "
                                 f"seed={cfg.seed}): training templates only" if cfg.examples else "none"),
        "demo_holdout_rows": int(len(demo_holdout)),
    }
    return TrainingData(frame=frame, demo_holdout=demo_holdout, card=card)


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
    from include.sentiment.evaluation import model_probs

    return [LABELS[i] for i in model_probs(model, tokenizer, texts, max_length, batch_size).argmax(1).tolist()]


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


def length_bucketed_batches(lengths: Any, batch_size: int, generator: Any) -> list[Any]:
    """Index batches for one epoch: shuffle, sort each window of 16 batches by length, shuffle the batches.

    A batch is padded to its longest row; reviews (~60 tokens) and tweets (~25) mixed at random waste about
    half of every batch on padding. Sorting inside shuffled windows keeps the order random across epochs.
    """
    import torch

    order = torch.randperm(len(lengths), generator=generator)
    window = batch_size * 16
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[torch.argsort(lengths[chunk], descending=True, stable=True)]
        batches.extend(torch.split(chunk, batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def fine_tune(frame: pd.DataFrame, config: TrainingConfig) -> TrainResult:
    """Fine-tune on ``frame[~holdout]``; ``metrics`` are on ``frame[holdout]`` (the validation split)."""
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
    counts = torch.bincount(y, minlength=len(LABELS)).clamp(min=1).float()
    # Balanced class weights (n / (k * n_c)): the corpus is 45 % negative, the test set is balanced.
    weight = counts.sum() / (len(LABELS) * counts) if config.class_weights else None
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
    lengths = enc["attention_mask"].sum(1)
    steps_per_epoch = (len(train) + config.batch_size - 1) // config.batch_size
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * config.WARMUP_SHARE), total)
    generator = torch.Generator().manual_seed(config.seed)
    history: list[float] = []
    model.train()
    for epoch in range(config.epochs):
        running = 0.0
        for step, idx in enumerate(length_bucketed_batches(lengths, config.batch_size, generator)):
            # Trim the batch to its longest row: rows of similar length share a batch (see the helper).
            width = int(lengths[idx].max())
            batch = {k: v[idx][:, :width] for k, v in enc.items()}
            loss = loss_fn(model(**batch).logits, y[idx])
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


def honest_evaluation(result: TrainResult, data: TrainingData, config: TrainingConfig) -> dict[str, Any]:
    """The run's reported quality: the cross-domain test set, fp32 and dynamic int8, beside the lexicon.

    Returns ``{"metrics": flat numbers for the registry, "detail": nested (confusions, data card)}``:

    * ``macro_f1``, ``accuracy``, ``binary_accuracy``, ``f1_<label>`` … — the model (fp32) on
      :func:`include.sentiment.corpus.load_test_set` (never seen in training or tuning);
    * ``int8_*`` / ``bf16_*`` — its dynamic-int8 and bfloat16 copies on the same texts (inputs to ``precision=auto``);
    * ``lexicon_*`` — VADER on the same texts, this run;
    * ``val_*`` — the validation split of the training sources (what hyper-parameters were tuned on);
    * ``demo_holdout_*`` — generated rows from reserved templates only (when a supplement was trained).
    """
    import copy

    import torch

    from include.sentiment import corpus, evaluation
    from include.sentiment.inference import quantize_int8

    test = corpus.load_test_set()
    texts, gold = test["text"].map(normalize_text).tolist(), test["label"].tolist()
    window = config.max_length
    fp32 = evaluation.model_quality(evaluation.model_probs(result.model, result.tokenizer, texts, window), gold)
    int8 = evaluation.model_quality(
        evaluation.model_probs(quantize_int8(result.model), result.tokenizer, texts, window), gold)
    bf16 = evaluation.model_quality(
        evaluation.model_probs(copy.deepcopy(result.model).to(torch.bfloat16), result.tokenizer, texts, window), gold)
    lexicon = evaluation.lexicon_quality(texts, gold)
    metrics = (evaluation.flat("", fp32) | evaluation.flat("int8_", int8) | evaluation.flat("bf16_", bf16)
               | evaluation.flat("lexicon_", lexicon)
               | {f"val_{k}": v for k, v in result.metrics.items()}
               | {"test_rows": float(len(test)), "train_rows": float(result.split["train"])})
    detail: dict[str, Any] = {"test": fp32, "int8": int8, "bf16": bf16, "lexicon": lexicon,
                              "validation": result.metrics}
    if not data.demo_holdout.empty:
        demo_texts = data.demo_holdout["text"].map(normalize_text).tolist()
        demo = evaluation.model_quality(evaluation.model_probs(result.model, result.tokenizer, demo_texts, window),
                                        data.demo_holdout["label"].tolist())
        metrics |= evaluation.flat("demo_holdout_", demo)
        detail["demo_holdout"] = demo
    card = corpus.data_card()
    detail |= data.card | {"test_data": card["test_data"] | {"title": corpus.TEST_SOURCE["title"],
                                                              "mapping": corpus.TEST_SOURCE["mapping"]}}
    log.info("cross-domain test: champion macro-F1 %.3f binary %.3f | int8 %.3f | lexicon %.3f binary %.3f",
             fp32["macro_f1"], fp32["binary_accuracy"], int8["macro_f1"], lexicon["macro_f1"],
             lexicon["binary_accuracy"])
    return {"metrics": metrics, "detail": detail}


def report_markdown(version: str, evaluation: dict[str, Any], seconds: float, config: TrainingConfig) -> str:
    """The run's report: champion vs lexicon on the cross-domain test set, then validation and data."""
    d = evaluation["detail"]
    rows = [("champion (fp32)", d["test"]), ("champion (int8)", d["int8"])] + (
        [("champion (bf16)", d["bf16"])] if "bf16" in d else []) + (
        [(f"student, {d['student']['layers']} layers ({p})", d["student"][p])
         for p in ("fp32", "bf16", "int8") if p in d.get("student", {})]) + [
        ("lexicon (VADER)", d["lexicon"])]
    lines = [f"# sentiment/{version}: honest evaluation", "",
             f"Cross-domain test set: {d['test_data']['title']} ({d['test_data']['license']}), "
             f"{d['test_data']['rows']} reviews, {d['test_data']['mapping']}. Never used for training or tuning.", "",
             "| model | macro-F1 | accuracy | binary accuracy | F1 neg / neu / pos |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | {m['binary_accuracy']:.3f} | "
              f"{m['f1_negative']:.3f} / {m['f1_neutral']:.3f} / {m['f1_positive']:.3f} |" for name, m in rows]
    lines += ["", "Confusion (rows gold, columns predicted; negative, neutral, positive):", "",
              f"- champion: {d['test']['confusion']}", f"- lexicon: {d['lexicon']['confusion']}", "",
              f"Validation split of the training sources (tuning): macro-F1 {d['validation']['macro_f1']:.3f}."]
    if "demo_holdout" in d:
        lines.append(f"Generated demo feedback, reserved templates only: macro-F1 {d['demo_holdout']['macro_f1']:.3f}.")
    t = d["train_data"]
    lines += ["", f"Training data: {t.get('rows_used')} rows {t.get('rows_used_by_source')}; licences "
              f"{t.get('licenses')}; supplement: {t.get('generated_supplement')}.",
              f"Fine-tune: {config.epochs} epoch(s), lr {config.learning_rate:g}, max_length {config.max_length}, "
              f"batch {config.batch_size}, class weights {config.class_weights}; {seconds:.0f} s."]
    return "\n".join(lines) + "\n"


def write_report(version: str, evaluation: dict[str, Any], seconds: float, config: TrainingConfig) -> str:
    """``reports/sentiment_training/v<version>/report.md`` + ``evaluation.json`` in the lake; the folder's URI."""
    from include.platform import storage

    folder = storage.lake_path("reports", "sentiment_training", f"v{version}")
    storage.write_text(folder / "report.md", report_markdown(version, evaluation, seconds, config))
    storage.write_json(folder / "evaluation.json", evaluation)
    return str(folder)


#: What ``macro_f1`` of a version registered by this module is measured on: versions are compared only when equal.
def evaluated_on() -> str:
    from include.sentiment import corpus

    return f"{corpus.TEST_SOURCE['name']}@{corpus.manifest()['test']['sha256'][:12]}"


def gate_and_promote(name: str, trained: dict[str, Any], min_f1: float,
                     context: dict[str, Any] | None = None, beat_lexicon: bool = True) -> dict[str, Any]:
    """Promote when the cross-domain test macro-F1 clears ``min_f1``, beats the lexicon, and is not worse than
    the champion's (when both were measured on the same test set).

    ``trained["metrics"]["macro_f1"]`` is the cross-domain test score (:func:`honest_evaluation`); when the
    run measured the lexicon (``lexicon_macro_f1`` / ``lexicon_binary_accuracy``), the model must beat it on
    both. A champion whose ``evaluated_on`` differs (an older version scored on another set) is not compared:
    numbers from different test sets say nothing about each other.

    The verdict goes through the platform lifecycle (:mod:`include.platform.lifecycle`): promoted
    versions become ``champion`` (the old one ``retired``, alias ``previous``); a version that fails
    stays registered as evidence with status ``rejected``, its reasons and one alert. The returned
    ``asset_extra`` is what the promote task attaches to its ``sentiment_model`` event.
    """
    from include.platform import lifecycle, registry

    m = trained["metrics"]
    f1 = float(m["macro_f1"])
    champion = registry.aliases(name).get("champion")
    champion_f1 = None
    if champion:
        current = registry.get_version(name, champion)
        same_set = current.metadata.get("evaluated_on") == trained.get("evaluated_on")
        champion_f1 = float(current.metrics.get("macro_f1", 0.0)) if same_set else None
    metrics = {"macro_f1": f1, "min_macro_f1": float(min_f1)} | (
        {"champion_macro_f1": champion_f1} if champion_f1 is not None else {})
    problems = []
    if f1 < min_f1:
        problems.append(f"cross-domain test macro-F1 {f1:.3f} < required {min_f1:.2f}")
    for key in ("macro_f1", "binary_accuracy"):
        if beat_lexicon and f"lexicon_{key}" in m:
            metrics[f"lexicon_{key}"] = float(m[f"lexicon_{key}"])
            metrics[key] = float(m.get(key, 0.0))
            if metrics[key] <= metrics[f"lexicon_{key}"]:
                problems.append(f"{key} {metrics[key]:.3f} does not beat the lexicon's {metrics[f'lexicon_{key}']:.3f}")
    if champion_f1 is not None and f1 < champion_f1:
        problems.append(f"cross-domain test macro-F1 {f1:.3f} < champion {name}/{champion}'s {champion_f1:.3f}")
    if problems:
        decision, reason = "reject", "; ".join(problems)
    else:
        decision = "promote"
        reason = f"cross-domain test macro-F1 {f1:.3f} >= required {min_f1:.2f}" + (
            f", beats the lexicon ({metrics['lexicon_macro_f1']:.3f})" if "lexicon_macro_f1" in metrics else "") + (
            f" and >= champion {name}/{champion}'s {champion_f1:.3f}" if champion_f1 is not None else "")
    applied = lifecycle.apply_verdict(name, trained["version"], lifecycle.Verdict(
        decision, DECIDED_BY, reasons=(reason,), metrics=metrics), context=context)
    out = {"promoted": decision == "promote", "version": applied.version, "macro_f1": f1,
           "status": str(applied.status), "asset_extra": applied.extra}
    if decision == "promote":
        return out | {"previous": champion}
    log.warning("%s/%s not promoted: %s", name, trained["version"], reason)
    return out | {"reason": reason}
