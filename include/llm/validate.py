"""Validate the corpus with Great Expectations (GX Core, already in the stack for costs and synthetic data).

One expectation per rule, each row that breaks one lands in the quarantine with the rule in words:

==========================  =========================================================================
rule                        expectation
==========================  =========================================================================
non-empty                   ``ExpectColumnValuesToNotBeNull(text)`` + length of the stripped text
length bounds               ``ExpectColumnValueLengthsToBeBetween(stripped, min_chars, max_chars)``
no repeated document        ``ExpectColumnValuesToBeInSet(repeat_of, [""])`` (case/space-insensitive; the
                            first occurrence is kept, later ones name it)
no e-mail address           ``ExpectColumnValuesToNotMatchRegex(text, EMAIL)``
no phone number             ``ExpectColumnValuesToBeInSet(phone, [False])`` (:func:`include.llm.screen.has_phone`)
no card-like number         ``ExpectColumnValuesToBeInSet(card, [False])`` (13-19 digits passing Luhn)
==========================  =========================================================================

Unparseable JSONL lines never reach GX; :func:`include.llm.corpus.read_corpus` hands them over as
rejected rows and :func:`validate` merges them into the same quarantine list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from include.llm import screen

log = logging.getLogger(__name__)


@dataclass
class CorpusValidation:
    valid: pd.DataFrame  # source_file, line, text (stripped)
    quarantined: list[dict[str, Any]]  # source_file, line, reason, text
    results: list[dict[str, Any]] = field(default_factory=list)  # one summary per expectation

    @property
    def counts(self) -> dict[str, int]:
        return {"valid": len(self.valid), "quarantined": len(self.quarantined)}


def _reason(kind: str, column: str, kwargs: dict[str, Any]) -> str:
    if column == "stripped":
        return f"length outside [{kwargs['min_value']}, {kwargs['max_value']}] characters"
    return {
        ("ExpectColumnValuesToNotBeNull", "text"): "empty: no text",
        ("ExpectColumnValuesToNotMatchRegex", "text"): "PII: e-mail address",
        ("ExpectColumnValuesToBeInSet", "phone"): "PII: phone number",
        ("ExpectColumnValuesToBeInSet", "card"): "PII: card-like number (Luhn-valid)",
        ("ExpectColumnValuesToBeInSet", "repeat_of"): "duplicate",
    }.get((kind, column), f"{kind}({column})")


def expectations(min_chars: int, max_chars: int) -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToNotBeNull(column="text"),
        e.ExpectColumnValueLengthsToBeBetween(column="stripped", min_value=min_chars, max_value=max_chars),
        e.ExpectColumnValuesToBeInSet(column="repeat_of", value_set=[""]),
        e.ExpectColumnValuesToNotMatchRegex(column="text", regex=screen.EMAIL.pattern),
        e.ExpectColumnValuesToBeInSet(column="phone", value_set=[False]),
        e.ExpectColumnValuesToBeInSet(column="card", value_set=[False]),
    ]


def _features(docs: pd.DataFrame) -> pd.DataFrame:
    frame = docs.reset_index(drop=True).copy()
    text = frame["text"].fillna("").astype(str)
    frame["stripped"] = text.str.strip()
    norm = frame["stripped"].str.lower().str.split().str.join(" ")
    where = [f"{f}:{int(n)}" if pd.notna(n) else f"{f} row {i + 1}"
             for i, (f, n) in enumerate(zip(frame["source_file"], frame["line"], strict=True))]
    first = pd.Series(range(len(frame)), index=frame.index).groupby(norm).transform("min")
    frame["repeat_of"] = ["" if first[i] == i or not norm[i] else where[first[i]] for i in frame.index]
    frame["phone"] = text.map(screen.has_phone)
    frame["card"] = text.map(lambda t: bool(screen.card_numbers(t)))
    return frame


def validate(docs: pd.DataFrame, min_chars: int, max_chars: int,
             rejected: list[dict[str, Any]] | None = None) -> CorpusValidation:
    """Run the suite over ``docs`` (``source_file``, ``line``, ``text``); split into valid and quarantined."""
    quarantined = [dict(r) for r in (rejected or [])]
    if docs.empty:
        return CorpusValidation(docs.assign(text=docs["text"]), quarantined, [])
    import great_expectations as gx

    from include.platform.gx import validate_frame

    frame = _features(docs)
    result = validate_frame(frame, gx.ExpectationSuite(name="llm_corpus", expectations=expectations(min_chars, max_chars)),
                            source="llm_corpus", asset="documents", result_format="COMPLETE")
    reasons: dict[int, list[str]] = {}
    summaries = []
    for r in result.results:
        cfg = r.expectation_config
        column = cfg.kwargs.get("column", "table")
        bad = [int(i) for i in ((r.result or {}).get("unexpected_index_list") or [])]
        summaries.append({"expectation": cfg.type, "column": column, "success": bool(r.success), "unexpected": len(bad)})
        kind = type(cfg).__name__ if cfg.type is None else cfg.type
        name = "".join(p.capitalize() for p in kind.split("_")) if "_" in kind else kind
        for idx in bad:
            reason = _reason(name, column, cfg.kwargs)
            if column == "repeat_of":
                reason = f"duplicate of {frame.at[idx, 'repeat_of']}"
            elif column == "stripped" and not frame.at[idx, "stripped"]:
                reason = "empty: blank text"
            reasons.setdefault(idx, []).append(reason)
    for idx in sorted(reasons):
        row = frame.loc[idx]
        line = None if pd.isna(row["line"]) else int(row["line"])
        quarantined.append({"source_file": row["source_file"], "line": line, "reason": "; ".join(dict.fromkeys(reasons[idx])),
                            "text": str(row["text"])[:500] if isinstance(row["text"], str) else None})
    valid = frame.drop(index=sorted(reasons))[["source_file", "line"]].assign(
        text=frame["stripped"]).reset_index(drop=True)
    if quarantined:
        log.warning("corpus validation quarantined %d of %d documents, e.g. %s", len(quarantined),
                    len(docs) + len(rejected or []), quarantined[0]["reason"])
    return CorpusValidation(valid, quarantined, summaries)
