"""One quarantine format for every pipeline: ``quarantine/<pipeline>/<day>/<name>.jsonl``.

Each line is one rejected record: ``source_file``, ``line`` (1-based, or null for a row with no line,
e.g. a Parquet row), ``reason`` (which rule it broke, in words), then the record's own fields. JSON
Lines because rejected records are often nested or not tabular (a broken JSON line is kept as its
text under ``raw``), and because every tool reads it (``duckdb``, pandas, ``jq``).

Reruns are idempotent: a day's file is *replaced*, and removed when the rerun rejects nothing (the
export was fixed). Unreadable whole files are kept byte-for-byte with :func:`keep_copy`, so what was
refused can be inspected after the producer overwrites the original.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from include.platform import storage

REQUIRED = ("source_file", "line", "reason")


def quarantine_path(pipeline: str, day: date, name: str) -> storage.ObjectStoragePath:
    """Where ``name``'s rejections of ``day`` live (guarded like every lake path)."""
    return storage.lake_path("quarantine", pipeline, day.isoformat(), f"{name}.jsonl")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no inf/nan; keep what was rejected readable
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def write_rejected(pipeline: str, day: date, name: str, records: Iterable[Mapping[str, Any]] | Any) -> str | None:
    """Replace the day's ``name`` quarantine with ``records`` (dicts or a DataFrame); URI, or None if empty.

    Every record must say ``source_file``, ``line`` and ``reason``; a record without them is a bug in
    the caller (it would lose the "where" an analyst needs), so it raises instead of writing.
    """
    if hasattr(records, "to_dict"):
        records = records.to_dict("records")
    rows = [dict(r) for r in records]
    path = quarantine_path(pipeline, day, name)
    if not rows:
        if path.exists():
            path.unlink()
        return None
    for row in rows:
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise ValueError(f"quarantine record without {missing}: {row!r}")
    ordered = ({**{k: row[k] for k in REQUIRED}, **{k: v for k, v in row.items() if k not in REQUIRED}} for row in rows)
    text = "".join(json.dumps({k: _clean(v) for k, v in row.items()}, ensure_ascii=False, default=str) + "\n"
                   for row in ordered)
    storage.write_text(path, text)
    return str(path)


def read_rejected(pipeline: str, day: date, name: str) -> list[dict[str, Any]]:
    """The day's ``name`` quarantine as dicts ([] when there is none)."""
    path = quarantine_path(pipeline, day, name)
    if not path.exists():
        return []
    # "\n" only: write_rejected keeps text as is (ensure_ascii=False), and str.splitlines() would also
    # split at a U+2028 / U+2029 / U+0085 inside a rejected record's own text.
    return [json.loads(line) for line in storage.read_text(path).split("\n") if line.strip()]


def keep_copy(pipeline: str, day: date, source: storage.ObjectStoragePath, *subdirs: str) -> str:
    """A byte-exact copy of an unreadable file under ``quarantine/<pipeline>/<day>/files/<subdirs>/<name>``."""
    dest = storage.lake_path("quarantine", pipeline, day.isoformat(), "files", *subdirs, source.name)
    storage.write_bytes(dest, storage.read_bytes(source))
    return str(dest)
