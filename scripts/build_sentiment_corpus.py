"""Build the sentiment champion's shipped corpus (train + cross-domain test) from the public source files.

Deterministic (fixed seed, sorted inputs, fixed sampling); checks the sha256 of every input so a rebuild
from the same files gives the same parquet contents. Writes into ``include/sentiment/datasets/``:

* ``train_corpus.parquet`` — Women's E-Commerce Clothing Reviews (CC0) + Twitter US Airline Sentiment
  (CC BY-NC-SA 4.0): columns ``text, label, source, confidence``.
* ``test_finefood.parquet`` — Amazon Fine Food Reviews (SNAP, CC0), a *different* public source:
  class-balanced sample, columns ``text, label, rating``.
* ``manifest.json`` — names, URLs, licences, label mappings, counts, sha256 of inputs and outputs.

Where the input files come from (public GitHub snapshots of the Kaggle files, see DATASETS.md)::

    git --git-dir=<MichalSzopinski00/The-Best-Classifier> show HEAD:womens-ecommerce-clothing-reviews.zip
    git --git-dir=<Riccocez/Sentiment-Classifier> show HEAD:Tweets.csv
    git --git-dir=<Chitresh62001/Sentiment-Analysis-using-NLTK> show HEAD:Reviews.csv   # first 7,567 rows

Run::

    PYTHONPATH=$PWD .venv/bin/python scripts/build_sentiment_corpus.py \
        --clothing-zip /tmp/sd_clothing.zip --tweets-csv /tmp/sd_tweets.csv --finefood-csv /tmp/sd_ff.csv

Never add data from the VADER project's repository (reserved for independent evaluation) or BEIR SciFact.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pandas as pd

from include.sentiment.clean import normalize_text

SEED = 20261203
OUT = Path(__file__).resolve().parents[1] / "include" / "sentiment" / "datasets"

#: sha256 of the exact input files this corpus was built from.
INPUT_SHA256 = {
    "clothing_zip": "8df20eb78ef96528a1d4e0695bd36180b3afb04d53123727cf92105866cdd995",  # pragma: allowlist secret (a file digest)
    "tweets_csv": "0b75ce1651b2fbf796430b4bb732345a411a88f4c53e1fb6d6b04ab37905d4cb",  # pragma: allowlist secret (a file digest)
    "finefood_csv": "faf1d977ec3ad975fd84906514d58a6e2f23832a0696fb4c8be67fc726c2cdb6",  # pragma: allowlist secret (a file digest)
}
CLOTHING_MEMBER = "womens-ecommerce-clothing-reviews/Womens Clothing E-Commerce Reviews.csv"

#: Training texts: at least this many characters after normalization, at most this many (longer rows are dropped,
#: not truncated: a cut review can lose its verdict). Clothing reviews are capped at 500 characters by the source.
MIN_CHARS, MAX_CHARS_TRAIN, MAX_CHARS_TEST = 12, 600, 1000
#: Clothing 4-5 star reviews are 78 % of that source; keep a seeded sample so the corpus stays small and less skewed.
CLOTHING_POSITIVE_KEEP = 6000
#: Test set: this many reviews per class (class-balanced).
TEST_PER_CLASS = 500


def rating_label(rating: int) -> str:
    """1-2 stars negative, 3 neutral, 4-5 positive (both review sources)."""
    return "negative" if rating <= 2 else ("neutral" if rating == 3 else "positive")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check(name: str, data: bytes) -> None:
    got = sha256(data)
    if got != INPUT_SHA256[name]:
        raise SystemExit(f"{name}: sha256 {got} != expected {INPUT_SHA256[name]} (different input file)")


def _clean(frame: pd.DataFrame, max_chars: int) -> pd.DataFrame:
    frame = frame.assign(text=frame["text"].fillna("").astype(str).map(normalize_text))
    frame = frame[frame["text"].str.len().between(MIN_CHARS, max_chars)]
    frame = frame.assign(key=frame["text"].str.lower())
    # A text that appears with two different labels is ambiguous: drop every copy; otherwise keep the first.
    labels_per_key = frame.groupby("key")["label"].nunique()
    frame = frame[frame["key"].map(labels_per_key) == 1]
    return frame.drop_duplicates("key")


def clothing(data: bytes) -> pd.DataFrame:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        raw = pd.read_csv(io.BytesIO(zf.read(CLOTHING_MEMBER)), encoding="utf-8")
    frame = pd.DataFrame({"text": raw["Review Text"], "label": raw["Rating"].astype(int).map(rating_label),
                          "source": "womens_clothing_reviews", "confidence": 1.0})
    frame = _clean(frame, MAX_CHARS_TRAIN)
    pos = frame[frame["label"] == "positive"]
    keep = pos.sample(n=min(CLOTHING_POSITIVE_KEEP, len(pos)), random_state=SEED)
    return pd.concat([frame[frame["label"] != "positive"], keep])


def tweets(data: bytes) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(data), encoding="utf-8")
    frame = pd.DataFrame({"text": raw["text"], "label": raw["airline_sentiment"].str.strip().str.lower(),
                          "source": "twitter_us_airline_sentiment",
                          "confidence": raw["airline_sentiment_confidence"].astype(float)})
    return _clean(frame, MAX_CHARS_TRAIN)


def finefood(data: bytes) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(data), encoding="utf-8")
    frame = pd.DataFrame({"text": raw["Text"], "label": raw["Score"].astype(int).map(rating_label),
                          "rating": raw["Score"].astype(int)})
    return _clean(frame, MAX_CHARS_TEST)


def build(clothing_zip: Path, tweets_csv: Path, finefood_csv: Path) -> dict:
    inputs = {"clothing_zip": clothing_zip.read_bytes(), "tweets_csv": tweets_csv.read_bytes(),
              "finefood_csv": finefood_csv.read_bytes()}
    for name, data in inputs.items():
        _check(name, data)
    test_pool = finefood(inputs["finefood_csv"])
    per_class = min(TEST_PER_CLASS, int(test_pool["label"].value_counts().min()))
    test = (test_pool.groupby("label").sample(n=per_class, random_state=SEED)
            .sort_values(["label", "text"]).reset_index(drop=True))
    train = pd.concat([clothing(inputs["clothing_zip"]), tweets(inputs["tweets_csv"])])
    # No text may be in both sets (cross-source duplicates are rare, but the check makes it a guarantee).
    train = train[~train["key"].isin(set(test["key"]))].drop_duplicates("key")
    train = train.sort_values(["source", "label", "text"]).reset_index(drop=True)
    OUT.mkdir(parents=True, exist_ok=True)
    train_path, test_path = OUT / "train_corpus.parquet", OUT / "test_finefood.parquet"
    train[["text", "label", "source", "confidence"]].to_parquet(train_path, index=False, compression="zstd")
    test[["text", "label", "rating"]].to_parquet(test_path, index=False, compression="zstd")
    counts = {src: g["label"].value_counts().sort_index().to_dict() for src, g in train.groupby("source")}
    manifest = {
        "seed": SEED,
        "inputs_sha256": INPUT_SHA256,
        "train": {"file": train_path.name, "rows": len(train), "sha256": sha256(train_path.read_bytes()),
                  "by_source": counts},
        "test": {"file": test_path.name, "rows": len(test), "sha256": sha256(test_path.read_bytes()),
                 "by_label": test["label"].value_counts().sort_index().to_dict(),
                 "pool_by_label": test_pool["label"].value_counts().sort_index().to_dict()},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clothing-zip", type=Path, required=True)
    parser.add_argument("--tweets-csv", type=Path, required=True)
    parser.add_argument("--finefood-csv", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps(build(args.clothing_zip, args.tweets_csv, args.finefood_csv), indent=2))


if __name__ == "__main__":
    main()
