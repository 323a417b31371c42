"""Validate exported feedback lines: every line becomes a record or a quarantine entry, none is lost.

The record contract is a pydantic model (the library already in the stack through Airflow), so the
reason stored with a rejected line is pydantic's own precise message ("rating: Input should be less
than or equal to 5") rather than a hand-rolled one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

MAX_RAW_CHARS = 10_000  # keep quarantined lines readable; a 5 MB line is not evidence, it is a problem

NonEmpty = Annotated[StrictStr, Field(min_length=1, max_length=200)]


class FeedbackRecord(BaseModel):
    """One feedback export record; ``text`` may be blank (flagged later), everything else must hold."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    id: NonEmpty
    customer_id: NonEmpty
    text: StrictStr
    channel: NonEmpty
    created_at: datetime
    rating: StrictInt | None = Field(default=None, ge=1, le=5)

    @field_validator("id", "customer_id", "channel")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp needs a time zone (e.g. 2026-11-22T10:00:00Z)")
        return value.astimezone(UTC)


@dataclass(frozen=True)
class Validated:
    valid: pd.DataFrame  # id, customer_id, text, channel, created_at, rating, source_file, line_no
    quarantined: pd.DataFrame  # source_file, line_no, reason, raw

    @property
    def counts(self) -> dict[str, int]:
        return {"lines": len(self.valid) + len(self.quarantined), "valid": len(self.valid),
                "quarantined": len(self.quarantined)}


VALID_COLUMNS = ["id", "customer_id", "text", "channel", "created_at", "rating", "source_file", "line_no"]
QUARANTINE_COLUMNS = ["source_file", "line_no", "reason", "raw"]


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def validate_lines(lines: Iterable[tuple[str, int, str]]) -> Validated:
    """Validate ``(source_file, line_no, line)`` triples; blank lines are skipped, not quarantined.

    Rejection reasons: invalid JSON, not an object, a schema violation, or a repeated ``id`` (the
    first occurrence wins; a platform re-sending the same id is a bug worth seeing).
    """
    valid: list[dict] = []
    bad: list[dict] = []
    seen: dict[str, tuple[str, int]] = {}
    for source, line_no, line in lines:
        if not line.strip():
            continue
        raw = line[:MAX_RAW_CHARS]
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append({"source_file": source, "line_no": line_no, "reason": f"invalid JSON: {exc.msg} at char {exc.pos}",
                        "raw": raw})
            continue
        if not isinstance(obj, dict):
            bad.append({"source_file": source, "line_no": line_no,
                        "reason": f"expected a JSON object, got {type(obj).__name__}", "raw": raw})
            continue
        try:
            rec = FeedbackRecord.model_validate(obj)
        except ValidationError as exc:
            bad.append({"source_file": source, "line_no": line_no, "reason": _reason(exc), "raw": raw})
            continue
        if rec.id in seen:
            first = seen[rec.id]
            bad.append({"source_file": source, "line_no": line_no,
                        "reason": f"duplicate id {rec.id!r} (first at {first[0]}:{first[1]})", "raw": raw})
            continue
        seen[rec.id] = (source, line_no)
        valid.append(rec.model_dump() | {"source_file": source, "line_no": line_no})
    valid_frame = pd.DataFrame(valid, columns=VALID_COLUMNS)
    valid_frame["created_at"] = pd.to_datetime(valid_frame["created_at"], utc=True)
    valid_frame["rating"] = valid_frame["rating"].astype("Int64")
    valid_frame["line_no"] = valid_frame["line_no"].astype("int64")
    quarantine = pd.DataFrame(bad, columns=QUARANTINE_COLUMNS)
    quarantine["line_no"] = quarantine["line_no"].astype("int64")
    return Validated(valid=valid_frame, quarantined=quarantine)


def numbered_lines(source: str, text: str) -> list[tuple[str, int, str]]:
    """``(source, 1-based line number, line)`` for every line of one file."""
    return [(source, i, line) for i, line in enumerate(text.splitlines(), start=1)]
