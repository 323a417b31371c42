"""FOCUS exports dropped in the lake: ``raw/costs/focus/<provider>/*.csv|*.parquet``.

AWS Data Exports (FOCUS 1.2 with AWS columns), Azure Cost Management exports (``FocusCost``) and
GCP's FOCUS BigQuery view can all deliver files; whatever lands under the prefix (by export, by a
transfer DAG, or by ``seed_demo_data`` locally) is read here. Files hold whole months, so only rows
charged inside the requested window are kept.

Bad input is isolated at the smallest unit that is bad, and always named:

* a **file** that cannot be parsed as a whole — empty, not UTF-8, ragged (a line with more or fewer
  fields than the header: its columns can no longer be trusted), malformed quoting, an unreadable
  Parquet footer, no cost/charge-period column — is quarantined *by name* with the line or byte
  offset and the reason, and every other file is still read (one bad export used to stop all);
* a **row** whose cost or charge period cannot be read is quarantined with its file and line.

A provider folder whose files were all read is *complete*: the loader may replace that provider's
rows for the window (a restated export). A provider with a quarantined file is not, so its rows
already in the warehouse are kept rather than wiped by a partial read.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from include.costs.focus import empty_frame, normalize
from include.costs.sources import SourceRead
from include.platform import storage

if TYPE_CHECKING:
    from include.costs.config import CostConfig

log = logging.getLogger(__name__)

SOURCE = "focus_files"
#: Without these a file has no cost to load: it is unusable as a whole, not row by row.
REQUIRED_COLUMNS = ("BilledCost", "ChargePeriodStart", "ChargePeriodEnd")
BAD_FILE_COLUMNS = ("file", "line", "byte_offset", "reason")


class UnreadableExport(ValueError):
    """A whole export file that cannot be parsed; ``line`` / ``byte_offset`` say where, when known."""

    def __init__(self, reason: str, line: int | None = None, byte_offset: int | None = None) -> None:
        self.reason, self.line, self.byte_offset = reason, line, byte_offset
        super().__init__(reason)


@dataclass(frozen=True)
class ExportTable:
    """One export's raw rows (text values for CSV) and where each row starts (CSV line, Parquet row)."""

    frame: pd.DataFrame
    lines: list[int]


@dataclass
class FocusFetch:
    frame: pd.DataFrame                     # normalized rows charged in the window
    quarantined: pd.DataFrame               # unreadable rows: raw values + file, line, reason
    bad_files: pd.DataFrame                 # unreadable files: file, line, byte_offset, reason
    complete_providers: list[str] = field(default_factory=list)  # read in full: safe to replace
    files_read: int = 0


def prefix() -> storage.ObjectStoragePath:
    return storage.lake_path("raw", "costs", "focus")


def missing(cfg: CostConfig) -> str | None:
    return None if prefix().exists() else f"nothing under {prefix()}"


def read(cfg: CostConfig, start: date, end: date) -> SourceRead:
    """Every readable file's rows; only providers whose every file was read replace their window."""
    fetched = fetch(start, end)
    status = f"partial: {len(fetched.bad_files)} file(s) quarantined" if len(fetched.bad_files) else "ok"
    return SourceRead(
        fetched.frame, status=status, replaces_window=True, providers=tuple(fetched.complete_providers),
        rejected_rows=_records(fetched.quarantined), rejected_files=_records(fetched.bad_files))


def _records(frame: pd.DataFrame) -> list[dict]:
    """Quarantine records: ``file`` named ``source_file``, a missing line/offset as null (not NaN)."""
    frame = frame.rename(columns={"file": "source_file"}).astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def export_files() -> list[storage.ObjectStoragePath]:
    """Every CSV/Parquet export, one folder per provider (sorted, so reads are reproducible)."""
    root = prefix()
    if not root.exists():
        return []
    files = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name):
        files += storage.list_files(folder, ".csv") + storage.list_files(folder, ".parquet")
    return files


def _decode(data: bytes) -> str:
    from include.platform.lines import NotUtf8, decode_utf8

    try:
        return decode_utf8(data)
    except NotUtf8 as exc:
        raise UnreadableExport(f"{exc}; re-export the file as UTF-8", line=exc.line,
                               byte_offset=exc.byte_offset) from None


def parse_csv(data: bytes) -> ExportTable:
    """Strict CSV: UTF-8, one header, every record exactly as wide as the header.

    pandas would fill a short line with nulls and shift nothing, or stop the whole read on a long
    one; either way the file's columns can no longer be trusted, so the file is refused, naming
    the first offending line.
    """
    if not data.strip():
        raise UnreadableExport("empty file (0 bytes)" if not data else "file holds only whitespace",
                               line=1, byte_offset=0)
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    rows, lines, ragged = [], [], []
    try:
        header = next(reader)
        previous = reader.line_num
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if not record:  # a blank line (pandas skips them too)
                continue
            if len(record) != len(header):
                ragged.append((start, len(record)))
            rows.append(record)
            lines.append(start)
    except csv.Error as exc:
        raise UnreadableExport(f"malformed CSV at line {reader.line_num}: {exc}", line=reader.line_num) from None
    if ragged:
        line, width = ragged[0]
        more = f" ({len(ragged) - 1} more ragged lines)" if len(ragged) > 1 else ""
        raise UnreadableExport(f"ragged CSV: line {line} has {width} fields, the header has {len(header)}{more}",
                               line=line)
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise UnreadableExport(f"header repeats column(s) {dupes}", line=1)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return ExportTable(frame.where(frame != "", None), lines)


def parse_parquet(data: bytes) -> ExportTable:
    if not data:
        raise UnreadableExport("empty file (0 bytes)", byte_offset=0)
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid/OSError/ValueError for bad files
        raise UnreadableExport(f"unreadable Parquet: {type(exc).__name__}: {exc}") from None
    return ExportTable(frame, list(range(1, len(frame) + 1)))


def read_export(path: storage.ObjectStoragePath) -> ExportTable:
    """Parse one export; :class:`UnreadableExport` when the file as a whole is unusable.

    I/O errors (a flaky object store) are *not* caught: the task retry is the right answer there.
    """
    data = storage.read_bytes(path)
    table = parse_parquet(data) if path.name.endswith(".parquet") else parse_csv(data)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.frame.columns]
    if missing:
        raise UnreadableExport(f"no {', '.join(missing)} column: not a FOCUS export", line=1)
    return table


def _unreadable(raw: pd.DataFrame, normalized: pd.DataFrame) -> pd.Series:
    """Why each raw row could not be used ('' when it can): a value present but not coercible."""
    reasons = pd.Series([""] * len(raw), index=raw.index, dtype=object)
    for col in REQUIRED_COLUMNS[:2]:
        bad = normalized[col].isna().to_numpy()
        for i in raw.index[bad]:
            reasons[i] += f"{col}={raw.at[i, col]!r} unreadable; "
    return reasons.str.rstrip("; ")


def fetch(start: date, end: date) -> FocusFetch:
    """Rows charged in ``start``..``end`` from every readable file; the rest quarantined with reasons."""
    lo = pd.Timestamp(start, tz="UTC")
    hi = pd.Timestamp(end + timedelta(days=1), tz="UTC")
    kept, rejected, bad_files = [], [], []
    providers: dict[str, set[str]] = {}
    incomplete: set[str] = set()
    files = export_files()
    for path in files:
        folder = path.parent.name
        providers.setdefault(folder, set())
        try:
            table = read_export(path)
        except UnreadableExport as exc:
            log.warning("%s quarantined: %s", path, exc.reason)
            bad_files.append({"file": str(path), "line": exc.line, "byte_offset": exc.byte_offset,
                              "reason": exc.reason})
            incomplete.add(folder)
            continue
        raw = table.frame.reset_index(drop=True)
        normalized = normalize(raw, SOURCE)
        reasons = _unreadable(raw, normalized)
        bad = (reasons != "").to_numpy()
        if bad.any():
            rows = raw[bad].astype(str).assign(reason=reasons[bad].to_numpy(), file=str(path),
                                               line=[table.lines[i] for i in raw.index[bad]])
            rejected.append(rows)
        good = normalized[~bad]
        providers[folder] |= {p for p in good["ProviderName"].dropna().unique()}
        in_window = (good["ChargePeriodStart"] >= lo) & (good["ChargePeriodStart"] < hi)
        kept.append(good[in_window])
        log.info("%s: %d rows, %d in window, %d unreadable", path.name, len(raw), int(in_window.sum()), int(bad.sum()))
    frame = pd.concat(kept, ignore_index=True) if kept else empty_frame()
    quarantined = (pd.concat(rejected, ignore_index=True) if rejected
                   else pd.DataFrame(columns=["reason", "file", "line"]))
    doubtful = set().union(*(providers[f] for f in incomplete)) if incomplete else set()
    complete = sorted(set().union(*(p for f, p in providers.items() if f not in incomplete)) - doubtful
                      if providers else set())
    return FocusFetch(frame, quarantined, pd.DataFrame(bad_files, columns=list(BAD_FILE_COLUMNS)), complete,
                      files_read=len(files) - len(bad_files))
