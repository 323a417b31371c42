"""Customer feedback as JSONL, the way a support platform exports it, including its mess.

Texts are composed from aspect phrases with a known sentiment (negative / neutral / positive; the
templates and labels belong to the sentiment package: include/sentiment/labeled_set.py), with
HTML remnants, stray whitespace, exact duplicates, empty and over-long messages; a share of lines is
malformed in the ways real exports are (broken JSON, missing fields, out-of-range ratings, bad
timestamps) so the validation and quarantine path has something to do.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from include.sentiment import LABELS
from include.sentiment.labeled_set import PHRASES, compose_text, labeled_examples

#: ``labeled_examples`` and ``PHRASES`` are the sentiment package's labeled set (include/sentiment/labeled_set.py),
#: re-exported here because the demo's documented entry point for it is ``include.demo.feedback``.
__all__ = ["CHANNELS", "LABELS", "MALFORMATIONS", "PHRASES", "RATING_BY_LABEL", "compose_text", "feedback_lines",
           "labeled_examples"]

CHANNELS = ("email", "chat", "app_review", "survey", "social")
RATING_BY_LABEL = {"negative": (1, 2), "neutral": (3,), "positive": (4, 5)}


def _messy(rng: np.random.Generator, text: str) -> str:
    roll = rng.random()
    if roll < 0.08:
        return f"<p>{text}</p><br/>"
    if roll < 0.14:
        return f"  {text.replace(' ', '   ', 2)}\n\n"
    if roll < 0.17:
        return text.replace("&", "&amp;") + " &nbsp;:)"
    return text


def _record(rng: np.random.Generator, day: date, idx: int) -> dict:
    label = str(rng.choice(LABELS, p=(0.3, 0.3, 0.4)))
    ts = datetime.combine(day, time(0, 0), tzinfo=UTC) + timedelta(seconds=int(rng.integers(0, 86_400)))
    rec = {
        "id": f"fb-{day:%Y%m%d}-{idx:05d}",
        "customer_id": f"c-{int(rng.integers(1, 20_000)):05d}",
        "text": _messy(rng, compose_text(rng, label)),
        "channel": str(rng.choice(CHANNELS)),
        "created_at": ts.isoformat().replace("+00:00", "Z"),
    }
    if rng.random() < 0.7:
        rec["rating"] = int(rng.choice(RATING_BY_LABEL[label]))
    return rec


MALFORMATIONS = ("broken_json", "missing_text", "bad_rating", "bad_timestamp", "wrong_type")


def _malformed(rng: np.random.Generator, rec: dict, kind: str) -> str:
    if kind == "broken_json":
        return json.dumps(rec)[:-7]
    bad = dict(rec)
    if kind == "missing_text":
        bad.pop("text")
    elif kind == "bad_rating":
        bad["rating"] = int(rng.choice([0, 7, 11]))
    elif kind == "bad_timestamp":
        bad["created_at"] = "yesterday at noon"
    elif kind == "wrong_type":
        bad["customer_id"] = None
    return json.dumps(bad)


def feedback_lines(day: date, n: int, seed: int = 42, malformed_share: float = 0.03) -> list[str]:
    """JSONL lines for one day: ``n`` records, some duplicated, empty, over-long or malformed."""
    rng = np.random.default_rng([seed, day.toordinal()])
    lines: list[str] = []
    for i in range(n):
        rec = _record(rng, day, i)
        roll = rng.random()
        if roll < malformed_share:
            lines.append(_malformed(rng, rec, str(rng.choice(MALFORMATIONS))))
            continue
        if roll < malformed_share + 0.01:
            rec["text"] = "   "
        elif roll < malformed_share + 0.02:
            rec["text"] = " ".join([rec["text"]] * 60)  # far beyond a model's 128/512-token window
        lines.append(json.dumps(rec))
        if rng.random() < 0.02 and lines:
            dup = dict(rec, id=f"{rec['id']}-dup")  # same text resent by the platform under a new id
            lines.append(json.dumps(dup))
    return lines
