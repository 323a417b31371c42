"""Reading the corpus from the lake and validating it with GX: every document is kept or quarantined with a reason."""

from __future__ import annotations

import json
from datetime import date

import pytest

from include.platform.errors import ConfigError

LINES = [
    {"text": "a perfectly fine review of a lovely summer dress"},
    {"text": ""},
    "{not json",
    {"text": "email me at jane@example.com about the dress please"},
    {"text": "call 555-123-4567 about my order of the blue top"},
    {"text": "charged twice on 4111 1111 1111 1111 for this skirt"},
    {"text": "A perfectly  fine review of a LOVELY summer dress"},
    {"text": "short"},
    ["not", "an", "object"],
    {"text": "another good review, the fabric is soft and the fit true to size"},
    {"body": "no text field here at all, only a body"},
]


def _write(lake_key: str) -> None:
    from include.llm import corpus
    from include.platform import storage

    raw = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in LINES) + "\n\n"
    storage.write_text(corpus.corpus_path(lake_key), raw)


def test_missing_corpus_fails_naming_the_seed(lake):
    from include.llm import corpus

    with pytest.raises(ConfigError, match="make run DAG=seed_demo_data"):
        corpus.read_corpus("nothing_here.jsonl")


def test_every_line_is_a_document_or_a_quarantine_entry_with_file_line_and_reason(lake):
    from include.llm import corpus, validate
    from include.platform import quarantine

    _write("team/mixed.jsonl")
    docs, rejected = corpus.read_corpus("team/mixed.jsonl")
    result = validate.validate(docs, min_chars=20, max_chars=200, rejected=rejected)
    assert result.valid["line"].tolist() == [1, 10]
    reasons = {q["line"]: q["reason"] for q in result.quarantined}
    assert reasons == {
        2: "empty: blank text",
        3: reasons[3],  # the JSON parser's own message
        4: "PII: e-mail address",
        5: "PII: phone number",
        6: "PII: card-like number (Luhn-valid)",
        7: "duplicate of mixed.jsonl:1",
        8: "length outside [20, 200] characters",
        9: "expected a JSON object with a string 'text' field",
        11: "expected a JSON object with a string 'text' field",
    }
    assert reasons[3].startswith("invalid JSON")
    assert {q["source_file"] for q in result.quarantined} == {"mixed.jsonl"}
    assert len(result.valid) + len(result.quarantined) == len(LINES)
    # each rule is one GX expectation, with its failure count
    by_column = {(r["expectation"], r["column"]): r["unexpected"] for r in result.results}
    assert by_column[("expect_column_values_to_not_match_regex", "text")] == 1
    assert by_column[("expect_column_values_to_be_in_set", "card")] == 1
    assert by_column[("expect_column_value_lengths_to_be_between", "stripped")] == 2
    # through the one quarantine format
    uri = quarantine.write_rejected("llm_fine_tuning", date(2026, 12, 3), "mixed", result.quarantined)
    stored = quarantine.read_rejected("llm_fine_tuning", date(2026, 12, 3), "mixed")
    assert uri and [r["line"] for r in stored] == [3, 9, 11, 2, 4, 5, 6, 7, 8]
    assert all(set(r) >= {"source_file", "line", "reason"} for r in stored)


def test_parquet_corpus_and_the_seeded_default(lake):
    import pandas as pd

    from include.llm import corpus, validate
    from include.platform import storage

    storage.write_parquet(corpus.corpus_path("p/set.parquet"), pd.DataFrame({"text": ["x" * 30, "y" * 30, "x" * 30]}))
    docs, rejected = corpus.read_corpus("p/set.parquet")
    result = validate.validate(docs, 20, 100, rejected)
    assert len(result.valid) == 2 and result.quarantined[0]["reason"] == "duplicate of set.parquet row 1"
    seeded = corpus.seed_corpus(max_docs=50)
    assert seeded["written"] and seeded["docs"] == 50
    assert corpus.seed_corpus()["written"] is False  # never over an existing object
    docs, rejected = corpus.read_corpus("womens_clothing_reviews.jsonl")
    assert len(docs) == 50 and not rejected and docs["line"].tolist() == list(range(1, 51))
