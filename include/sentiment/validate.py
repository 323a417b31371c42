"""Validate exported feedback lines: every line becomes a record or a quarantine entry, none is lost.

Bytes are split, decoded and parsed by :mod:`include.platform.lines` (one bad byte, a raw U+2028 or
a line of 100,000 ``[`` costs that line only, with file, line and byte offset); this module adds the
record contract on top.

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

from include.platform import lines

MAX_RAW_CHARS = lines.RAW_PREVIEW_CHARS  # keep quarantined lines readable; a 5 MB line is not evidence

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
    quarantined: pd.DataFrame  # source_file, line_no, byte_offset, reason, raw
    blank: int = 0  # blank lines: counted, neither records nor problems

    @property
    def counts(self) -> dict[str, int]:
        return {"lines": len(self.valid) + len(self.quarantined), "valid": len(self.valid),
                "quarantined": len(self.quarantined), "blank": self.blank}


VALID_COLUMNS = ["id", "customer_id", "text", "channel", "created_at", "rating", "source_file", "line_no"]
QUARANTINE_COLUMNS = ["source_file", "line_no", "byte_offset", "reason", "raw"]


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _check(line: lines.JsonLine, seen: dict[str, tuple[str, int]]) -> dict | lines.Quarantined:
    """A parsed line → a valid row, or the quarantine row naming the rule it broke."""
    def reject(reason: str) -> lines.Quarantined:
        return lines.Quarantined(line.source, line.line_no, line.offset, reason, line.text[:MAX_RAW_CHARS])

    if not isinstance(line.value, dict):
        return reject(f"expected a JSON object, got {type(line.value).__name__}")
    try:
        rec = FeedbackRecord.model_validate(line.value)
    except ValidationError as exc:
        return reject(_reason(exc))
    row = rec.model_dump()
    try:  # "\ud800" is valid JSON but no warehouse or Parquet file can store a lone surrogate
        json.dumps(row, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        return reject(f"string holds a lone surrogate {exc.object[exc.start:exc.end]!a} (not encodable as UTF-8)")
    if rec.id in seen:
        first = seen[rec.id]
        return reject(f"duplicate id {rec.id!r} (first at {first[0]}:{first[1]})")
    seen[rec.id] = (line.source, line.line_no)
    return row | {"source_file": line.source, "line_no": line.line_no}


def validate_files(files: Iterable[tuple[str, bytes]], *, max_line_bytes: int = lines.DEFAULT_MAX_LINE_BYTES,
                   max_text_chars: int = lines.DEFAULT_MAX_TEXT_CHARS) -> Validated:
    """Validate ``(file name, bytes)`` pairs; every non-blank line is a record or a quarantine row.

    Rejection reasons: not UTF-8, an oversize line or text, nesting too deep, invalid JSON, not an
    object, a schema violation, or a repeated ``id`` (the first occurrence wins, across files; a
    platform re-sending the same id is a bug worth seeing). Quarantine rows keep file order.
    """
    valid: list[dict] = []
    bad: list[lines.Quarantined] = []
    blank = 0
    seen: dict[str, tuple[str, int]] = {}
    for source, data in files:
        read = lines.read_json_lines(data, source, max_line_bytes=max_line_bytes, text_fields=("text",),
                                     max_text_chars=max_text_chars)
        blank += read.blank
        checked = [_check(line, seen) for line in read.records]
        valid += [row for row in checked if isinstance(row, dict)]
        bad += sorted(read.quarantined + [q for q in checked if isinstance(q, lines.Quarantined)],
                      key=lambda q: q.line_no)
    valid_frame = pd.DataFrame(valid, columns=VALID_COLUMNS)
    valid_frame["created_at"] = pd.to_datetime(valid_frame["created_at"], utc=True)
    valid_frame["rating"] = valid_frame["rating"].astype("Int64")
    valid_frame["line_no"] = valid_frame["line_no"].astype("int64")
    quarantine = pd.DataFrame([q.as_row() for q in bad], columns=QUARANTINE_COLUMNS)
    quarantine[["line_no", "byte_offset"]] = quarantine[["line_no", "byte_offset"]].astype("int64")
    return Validated(valid=valid_frame, quarantined=quarantine, blank=blank)
