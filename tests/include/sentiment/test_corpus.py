"""The shipped real corpus: files match their manifest, labels map as documented, splits do not leak."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pytest

from include.sentiment import LABELS, corpus
from include.sentiment.labeled_set import PHRASES, labeled_examples, template_split, template_split_phrases


def test_shipped_files_match_the_manifest_and_stay_small():
    m = corpus.manifest()
    for part in ("train", "test"):
        path = corpus.DATA_DIR / m[part]["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == m[part]["sha256"]
    total = sum(p.stat().st_size for p in corpus.DATA_DIR.iterdir())
    assert total < 5 * 1024 * 1024, total
    assert (corpus.DATA_DIR / "DATASETS.md").read_text().count("CC0") >= 2


def test_test_set_is_balanced_cross_domain_and_disjoint_from_training():
    test, train = corpus.load_test_set(), corpus.load_train_corpus()
    assert list(test.columns) == ["text", "label"]
    assert test["label"].value_counts().to_dict() == {label: 500 for label in LABELS}
    assert set(train["source"]) == set(corpus.TRAIN_SOURCES)
    assert corpus.TEST_SOURCE["name"] not in corpus.TRAIN_SOURCES
    assert not set(test["text"].str.lower()) & set(train["text"].str.lower())
    assert test["text"].str.lower().is_unique and train["text"].str.lower().is_unique
    assert set(train["label"]) == set(LABELS) and train["text"].str.len().between(12, 600).all()


def test_star_ratings_map_to_three_classes():
    from scripts.build_sentiment_corpus import rating_label

    assert [rating_label(r) for r in (1, 2, 3, 4, 5)] == ["negative", "negative", "neutral", "positive", "positive"]
    rated = pd.read_parquet(corpus.DATA_DIR / corpus.TEST_FILE)
    assert (rated["label"] == rated["rating"].map(rating_label)).all()


def test_load_train_corpus_filters_samples_and_refuses_unknown_sources():
    reviews = corpus.load_train_corpus(sources=("womens_clothing_reviews",))
    assert set(reviews["source"]) == {"womens_clothing_reviews"} and reviews["confidence"].eq(1.0).all()
    small = corpus.load_train_corpus(max_rows=1000, seed=3)
    assert 990 <= len(small) <= 1010 and small.equals(corpus.load_train_corpus(max_rows=1000, seed=3))
    assert corpus.load_train_corpus(min_confidence=0.9)["confidence"].min() >= 0.9
    with pytest.raises(ValueError, match="unknown corpus sources"):
        corpus.load_train_corpus(sources=("vader_tweets",))


def test_validation_split_is_stratified_and_disjoint():
    frame = corpus.load_train_corpus(max_rows=3000)
    train, val = corpus.train_validation_split(frame, validation_share=0.1, seed=7)
    assert len(train) + len(val) == len(frame) and not set(train["text"]) & set(val["text"])
    share = val.groupby(["source", "label"]).size() / frame.groupby(["source", "label"]).size()
    assert share.between(0.07, 0.13).all(), share


def test_data_card_names_sizes_and_licences():
    card = corpus.data_card()
    assert card["train_data"]["licenses"] == {"womens_clothing_reviews": "CC0-1.0",
                                             "twitter_us_airline_sentiment": "CC-BY-NC-SA-4.0"}
    assert sum(card["train_data"]["rows_by_source"].values()) == corpus.manifest()["train"]["rows"]
    test = card["test_data"]
    assert (test["name"], test["license"], test["rows"]) == ("amazon_fine_food_reviews", "CC0-1.0", 1500)


def _templates_of(text: str, phrases: dict[str, tuple[str, ...]]) -> set[str]:
    found = set()
    for pool in phrases.values():
        for template in pool:
            if re.search(re.escape(template).replace(re.escape("{a}"), r"[a-z ]+"), text):
                found.add(template)
    return found


def test_generated_held_out_rows_share_no_template_with_training_rows():
    train, held = template_split(300, 90, seed=5)
    train_phrases, held_phrases = template_split_phrases()
    used_train = set().union(*(_templates_of(t, PHRASES) for t, _ in train))
    used_held = set().union(*(_templates_of(t, PHRASES) for t, _ in held))
    assert used_train and used_held and not used_train & used_held
    assert used_held == {p for pool in held_phrases.values() for p in pool}
    assert {label for _, label in held} == set(LABELS)
    # The demo export's generator is unchanged (same seed, same texts as before the split existed).
    assert labeled_examples(3, seed=4) == labeled_examples(3, seed=4)


def test_demo_labeled_set_holdout_is_template_disjoint():
    from include.sentiment.training import demo_labeled_set

    frame = demo_labeled_set(120, seed=2)
    train_t = set().union(*(_templates_of(t, PHRASES) for t in frame.loc[~frame["holdout"], "text"]))
    held_t = set().union(*(_templates_of(t, PHRASES) for t in frame.loc[frame["holdout"], "text"]))
    assert frame["holdout"].sum() == 30 and not train_t & held_t
