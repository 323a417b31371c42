"""Sentiment quality on real, cross-domain text: the champion vs the VADER lexicon, same texts, same run.

* Test set: :func:`include.sentiment.corpus.load_test_set` (Amazon Fine Food Reviews, CC0, 500 per class),
  a source no training data comes from; never used for training or tuning.
* Champion: by default trained here exactly as ``train_sentiment_model`` trains it with its default Params
  (``TrainingConfig.from_params({})``: the shipped MiniLM fine-tuned on the real corpus + the generated
  supplement), or ``--model-dir`` (a saved model folder, e.g. a registry download), or ``--ref`` (a registry
  reference in the configured lake).
* Lexicon: VADER (PyPI ``vaderSentiment``), compound >= 0.05 positive, <= -0.05 negative, else neutral.

Writes bench/results/sentiment_quality.json: ``{"champion": {...}, "lexicon": {...}}``, each with ``macro_f1``,
``accuracy``, ``binary_accuracy``, ``confusion``, ``train_data``, ``test_data`` (+ per-class F1, int8, bf16,
validation, timing).

    PYTHONPATH=$PWD:$PWD/plugins nice .venv/bin/python bench/sentiment_quality.py [--save-dir /tmp/champion]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]

from include.sentiment import corpus, evaluation, training  # noqa: E402
from include.sentiment.clean import normalize_text  # noqa: E402
from include.sentiment.config import TrainingConfig  # noqa: E402


def _load(model_dir: Path) -> tuple[object, object, int]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    return model, AutoTokenizer.from_pretrained(model_dir), int(getattr(model.config, "genai_max_length", 128))


def _reduced(model: object, tokenizer: object, window: int, texts: list[str], gold: list[str],
             model_dir: Path) -> dict:
    """bf16 of the saved model and its distilled student (fp32, bf16) when the folder ships one, same texts."""
    import copy

    import torch

    from include.sentiment.distill import STUDENT_DIR

    keys = ("macro_f1", "accuracy", "binary_accuracy")
    out = {"bf16": {k: evaluation.model_quality(evaluation.model_probs(
        copy.deepcopy(model).to(torch.bfloat16), tokenizer, texts, window), gold)[k] for k in keys}}
    if (model_dir / STUDENT_DIR / "config.json").is_file():
        student, _, _ = _load(model_dir / STUDENT_DIR)
        fp32 = evaluation.model_quality(evaluation.model_probs(student, tokenizer, texts, window), gold)
        half = evaluation.model_quality(evaluation.model_probs(student.to(torch.bfloat16), tokenizer, texts, window),
                                        gold)
        out["student"] = {"layers": student.config.num_hidden_layers, "fp32": {k: fp32[k] for k in keys},
                          "bf16": {k: half[k] for k in keys}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, help="evaluate this saved model instead of training one")
    parser.add_argument("--ref", help="evaluate this registry reference (e.g. sentiment@champion) instead")
    parser.add_argument("--params", default="{}", help="JSON Params for TrainingConfig when training (default: the DAG's)")
    parser.add_argument("--save-dir", type=Path, help="save the trained champion here")
    parser.add_argument("--note", default="", help="with --model-dir: how that model was trained (recorded as is)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sentiment_quality.json")
    args = parser.parse_args()

    from include.sentiment.modeling import set_threads

    test = corpus.load_test_set()
    texts, gold = test["text"].map(normalize_text).tolist(), test["label"].tolist()
    card = corpus.data_card()
    test_data = card["test_data"] | {"title": corpus.TEST_SOURCE["title"], "url": corpus.TEST_SOURCE["url"],
                                     "mapping": corpus.TEST_SOURCE["mapping"]}
    started = time.perf_counter()
    lexicon = evaluation.lexicon_quality(texts, gold)
    lexicon_s = time.perf_counter() - started

    if args.model_dir or args.ref:
        if args.ref:
            from include.platform import registry

            _, model_dir = registry.download(args.ref, cache_dir=Path("/tmp") / "sentiment-quality-model")
        else:
            model_dir = args.model_dir
        model, tokenizer, window = _load(model_dir)
        set_threads(2)
        probs = evaluation.model_probs(model, tokenizer, texts, window)
        champion = evaluation.model_quality(probs, gold) | {"source": str(args.ref or model_dir)}
        champion |= _reduced(model, tokenizer, window, texts, gold, Path(model_dir)) | (
            {"trained_with": args.note} if args.note else {})
        train_data: dict = {"note": "evaluated a saved model; see its registry metadata for its training data",
                            **card["train_data"]}
    else:
        config = TrainingConfig.from_params(json.loads(args.params))
        data = training.training_data(config)
        result = training.fine_tune(data.frame, config)
        ev = training.honest_evaluation(result, data, config)
        if args.save_dir:
            training.save(result, args.save_dir)
        d = ev["detail"]
        champion = d["test"] | {
            "source": "trained by this run with train_sentiment_model's Params " + json.dumps(config.as_dict()),
            "int8": {k: d["int8"][k] for k in ("macro_f1", "accuracy", "binary_accuracy")},
            "bf16": {k: d["bf16"][k] for k in ("macro_f1", "accuracy", "binary_accuracy")},
            "validation": d["validation"], "train_seconds": round(result.seconds, 1),
        }
        if "demo_holdout" in d:
            champion["demo_holdout"] = {k: d["demo_holdout"][k] for k in ("macro_f1", "accuracy")}
        train_data = d["train_data"]
        # Same texts, same run: honest_evaluation scored the lexicon too; it must agree with the one above.
        assert abs(d["lexicon"]["macro_f1"] - lexicon["macro_f1"]) < 1e-9

    result_json = {
        "benchmark": "sentiment_quality",
        "champion": champion | {"train_data": train_data, "test_data": test_data},
        "lexicon": lexicon | {"train_data": {"names": [], "note": "a fixed lexicon: no training data"},
                              "test_data": test_data, "seconds": round(lexicon_s, 2)},
        "targets": {"macro_f1": 0.70, "binary_accuracy": 0.88, "beat_lexicon": True},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    result_json["verdict"] = {
        "macro_f1_target_met": champion["macro_f1"] >= 0.70,
        "binary_accuracy_target_met": champion["binary_accuracy"] >= 0.88,
        "beats_lexicon": (champion["macro_f1"] > lexicon["macro_f1"]
                          and champion["binary_accuracy"] > lexicon["binary_accuracy"]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result_json, indent=2) + "\n")
    print(json.dumps({k: result_json[k] for k in ("verdict",)} | {
        "champion": {k: champion[k] for k in ("macro_f1", "accuracy", "binary_accuracy")},
        "lexicon": {k: lexicon[k] for k in ("macro_f1", "accuracy", "binary_accuracy")}}, indent=2))


if __name__ == "__main__":
    main()
