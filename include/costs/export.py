"""The per-day FOCUS export: ``curated/focus/<YYYY-MM-DD>.csv`` in the lake, one file per charge day.

What FinOps tools that ingest FOCUS read: every FOCUS 1.2 column, in the spec's order, null (an
empty field) where a source has no value, plus the table's ``x_``-prefixed extras (the spec's
namespace for columns outside it). Values are written in the spec's formats: date/times as
``YYYY-MM-DDTHH:MM:SSZ`` (UTC), decimals as plain numbers, Tags and SkuPriceDetails as JSON objects.

A run loads its whole look-back window (providers restate recent days), so it re-exports every day
of that window from the warehouse: each file is overwritten whole (the storage layer's atomic
write), so a rerun yields the same files and a restated day's file follows the warehouse. A day
without rows gets a header-only file, so a day whose charges were all restated away does not keep
stale rows.
"""

from __future__ import annotations

import io
import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.costs import focus
from include.platform import storage, warehouse

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

log = logging.getLogger(__name__)

#: Columns of the export file: the FOCUS 1.2 columns, then our x_ extras (x_RowKey is internal).
EXPORT_COLUMNS = focus.FOCUS_COLUMNS + tuple(c for c in focus.EXTRA_COLUMNS if c != "x_RowKey")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def export_path(day: date) -> storage.ObjectStoragePath:
    """``curated/focus/<YYYY-MM-DD>.csv``."""
    return storage.lake_path("curated", "focus", f"{day.isoformat()}.csv")


def rows_for(start: date, end: date, hook: DbApiHook | None = None) -> pd.DataFrame:
    """``focus_costs`` rows charged from ``start`` to ``end`` (inclusive days), FOCUS-typed."""
    if not warehouse.table_exists(focus.TABLE, hook=hook):
        return focus.empty_frame()
    cols = ", ".join(focus.TABLE_COLUMNS)
    frame = warehouse.query(
        f"SELECT {cols} FROM {focus.TABLE} WHERE ChargePeriodStart >= CAST(? AS TIMESTAMPTZ) "
        "AND ChargePeriodStart < CAST(? AS TIMESTAMPTZ) ORDER BY ChargePeriodStart, x_Source, x_RowKey",
        [f"{start.isoformat()} 00:00:00+00", f"{(end + timedelta(days=1)).isoformat()} 00:00:00+00"], hook=hook)
    for col in focus.DECIMAL_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in focus.DATETIME_COLUMNS:
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame["x_DagRuns"] = pd.to_numeric(frame["x_DagRuns"], errors="coerce").astype("Int64")
    return frame


def to_csv(frame: pd.DataFrame) -> bytes:
    """The export's bytes: :data:`EXPORT_COLUMNS` in order, UTF-8, nulls as empty fields."""
    out = frame.reindex(columns=list(EXPORT_COLUMNS)).copy()
    for col in focus.DATETIME_COLUMNS:
        stamps = pd.to_datetime(out[col], utc=True)
        out[col] = stamps.dt.strftime(DATETIME_FORMAT).where(stamps.notna(), None)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n", float_format=None)
    return buffer.getvalue().encode("utf-8")


def export_days(start: date, end: date, hook: DbApiHook | None = None) -> dict[str, Any]:
    """Write one CSV per day ``start``..``end`` from the warehouse (overwriting); small summary dict."""
    rows = rows_for(start, end, hook=hook)
    days = rows["ChargePeriodStart"].dt.date if not rows.empty else pd.Series(dtype=object)
    files: dict[str, int] = {}
    day = start
    while day <= end:
        part = rows[(days == day).to_numpy()] if not rows.empty else rows
        storage.write_bytes(export_path(day), to_csv(part))
        files[day.isoformat()] = len(part)
        day += timedelta(days=1)
    log.info("FOCUS export: %d day file(s) under %s, %d rows", len(files), export_path(end).parent, len(rows))
    return {"folder": str(export_path(end).parent), "files": len(files), "rows": len(rows),
            "day_file": str(export_path(end)), "day_rows": files.get(end.isoformat(), 0)}
