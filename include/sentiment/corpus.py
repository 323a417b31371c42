"""The shipped real sentiment corpus: human-labelled training text and a cross-domain test set.

Files live beside this module in ``datasets/`` (built by ``scripts/build_sentiment_corpus.py``; sources,
licences, label mapping and checksums in ``datasets/DATASETS.md``):

* **train** — Women's E-Commerce Clothing Reviews (CC0; 1-2 stars negative, 3 neutral, 4-5 positive) and
  Twitter US Airline Sentiment (CC BY-NC-SA 4.0; three human labels): reviews and short customer messages.
* **test** — Amazon Fine Food Reviews (SNAP, CC0; same star mapping), 500 per class: a *different* public
  source and product domain than every training source, so its scores measure transfer, not memorization.

Tune on :func:`train_validation_split` of the training sources only; :func:`load_test_set` is for the
reported number. The VADER project's data and BEIR SciFact are never used here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from include.sentiment import LABELS

DATA_DIR = Path(__file__).resolve().parent / "datasets"
TRAIN_FILE, TEST_FILE, MANIFEST_FILE = "train_corpus.parquet", "test_finefood.parquet", "manifest.json"

#: Training sources: name -> (title, licence, URL, label mapping).
TRAIN_SOURCES: dict[str, dict[str, str]] = {
    "womens_clothing_reviews": {
        "title": "Women's E-Commerce Clothing Reviews (nicapotato, Kaggle)",
        "license": "CC0-1.0",
        "url": "https://www.kaggle.com/datasets/nicapotato/womens-ecommerce-clothing-reviews",
        "mapping": "Rating 1-2 negative, 3 neutral, 4-5 positive",
    },
    "twitter_us_airline_sentiment": {
        "title": "Twitter US Airline Sentiment (Crowdflower / Figure Eight, Kaggle)",
        "license": "CC-BY-NC-SA-4.0",
        "url": "https://www.kaggle.com/datasets/crowdflower/twitter-airline-sentiment",
        "mapping": "airline_sentiment negative/neutral/positive (crowd labels) as is",
    },
}
TEST_SOURCE: dict[str, str] = {
    "name": "amazon_fine_food_reviews",
    "title": "Amazon Fine Food Reviews (SNAP, McAuley & Leskovec 2013; Kaggle)",
    "license": "CC0-1.0",
    "url": "https://www.kaggle.com/datasets/snap/amazon-fine-food-reviews",
    "mapping": "Score 1-2 negative, 3 neutral, 4-5 positive; class-balanced sample",
}


@cache
def manifest() -> dict[str, Any]:
    """Counts and sha256 of the shipped files (``datasets/manifest.json``)."""
    return json.loads((DATA_DIR / MANIFEST_FILE).read_text())


@cache
def _train_frame() -> pd.DataFrame:
    return pd.read_parquet(DATA_DIR / TRAIN_FILE)


def load_train_corpus(sources: tuple[str, ...] | None = None, max_rows: int | None = None, seed: int = 7,
                      min_confidence: float = 0.0) -> pd.DataFrame:
    """The training corpus: columns ``text, label, source, confidence``.

    ``sources`` limits it to some of :data:`TRAIN_SOURCES`; ``min_confidence`` drops crowd labels with a
    lower agreement score (the review sources are 1.0); ``max_rows`` takes a seeded sample stratified by
    source and label (each stratum keeps its share, at least one row).
    """
    frame = _train_frame()
    if sources is not None:
        unknown = sorted(set(sources) - set(TRAIN_SOURCES))
        if unknown:
            raise ValueError(f"unknown corpus sources {unknown}; known: {sorted(TRAIN_SOURCES)}")
        frame = frame[frame["source"].isin(sources)]
    frame = frame[frame["confidence"] >= min_confidence]
    if max_rows is not None and max_rows < len(frame):
        share = max_rows / len(frame)
        frame = frame.groupby(["source", "label"]).sample(frac=share, random_state=seed)
    return frame.reset_index(drop=True).copy()


def train_validation_split(frame: pd.DataFrame, validation_share: float = 0.1,
                           seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation) of the training corpus, stratified by source and label: tune on this, never on the test set."""
    from sklearn.model_selection import train_test_split

    strata = frame["source"].astype(str) + "/" + frame["label"].astype(str)
    train, val = train_test_split(frame, test_size=validation_share, random_state=seed, stratify=strata)
    return train.reset_index(drop=True), val.reset_index(drop=True)


@cache
def _test_frame() -> pd.DataFrame:
    return pd.read_parquet(DATA_DIR / TEST_FILE)


def load_test_set() -> pd.DataFrame:
    """The cross-domain test set: columns ``text, label`` (Amazon Fine Food Reviews, 500 per class)."""
    frame = _test_frame()
    bad = sorted(set(frame["label"]) - set(LABELS))
    if bad:
        raise ValueError(f"test set has labels {bad}; expected {LABELS}")
    return frame[["text", "label"]].copy()


def data_card() -> dict[str, Any]:
    """What a run records about its data: names, sizes, licences (registry metadata and reports)."""
    m = manifest()
    return {
        "train_data": {
            "names": sorted(TRAIN_SOURCES),
            "licenses": {k: v["license"] for k, v in TRAIN_SOURCES.items()},
            "rows_by_source": {k: int(sum(v.values())) for k, v in m["train"]["by_source"].items()},
            "sha256": m["train"]["sha256"],
        },
        "test_data": {
            "name": TEST_SOURCE["name"],
            "license": TEST_SOURCE["license"],
            "rows": int(m["test"]["rows"]),
            "rows_by_label": m["test"]["by_label"],
            "sha256": m["test"]["sha256"],
        },
    }
