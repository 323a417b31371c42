"""FOCUS exports dropped in the lake: ``raw/costs/focus/<provider>/*.csv|*.parquet``.

AWS Data Exports (FOCUS 1.2 with AWS columns), Azure Cost Management exports (``FocusCost``) and
GCP's FOCUS BigQuery view can all deliver files; whatever lands under the prefix (by export, by a
transfer DAG, or by ``seed_demo_data`` locally) is read here. Files hold whole months, so only rows
charged inside the requested window are kept. A row whose cost or charge period cannot be read is
returned separately with the reason (it goes to the quarantine zone, not silently away).
"""

from __future__ import annotations

import io
import logging
from datetime import date, timedelta

import pandas as pd

from include.costs.focus import empty_frame, normalize
from include.platform import storage

log = logging.getLogger(__name__)

SOURCE = "focus_files"


def prefix() -> storage.ObjectStoragePath:
    return storage.lake_path("raw", "costs", "focus")


def is_configured() -> bool:
    return prefix().exists()


def export_files() -> list[storage.ObjectStoragePath]:
    """Every CSV/Parquet export, one folder per provider (sorted, so reads are reproducible)."""
    root = prefix()
    if not root.exists():
        return []
    files = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name):
        files += storage.list_files(folder, ".csv") + storage.list_files(folder, ".parquet")
    return files


def read_export(path: storage.ObjectStoragePath) -> pd.DataFrame:
    data = storage.read_bytes(path)
    if path.name.endswith(".parquet"):
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""])


def _unreadable(raw: pd.DataFrame, normalized: pd.DataFrame) -> pd.Series:
    """Why each raw row could not be used ('' when it can): a value present but not coercible."""
    reasons = pd.Series([""] * len(raw), index=raw.index, dtype=object)
    for col in ("BilledCost", "ChargePeriodStart", "ChargePeriodEnd"):
        if col not in raw.columns:
            reasons[:] = reasons + f"missing column {col}; "
            continue
        bad = normalized[col].isna().to_numpy()
        for i in raw.index[bad]:
            reasons[i] += f"{col}={raw.at[i, col]!r} unreadable; "
    return reasons.str.rstrip("; ")


def fetch(start: date, end: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(FOCUS rows charged in ``start``..``end``, quarantined raw rows with a ``reason``)."""
    lo = pd.Timestamp(start, tz="UTC")
    hi = pd.Timestamp(end + timedelta(days=1), tz="UTC")
    kept, rejected = [], []
    for path in export_files():
        raw = read_export(path).reset_index(drop=True)
        normalized = normalize(raw, SOURCE)
        reasons = _unreadable(raw, normalized)
        bad = reasons != ""
        if bad.any():
            rejected.append(raw[bad.to_numpy()].astype(str).assign(reason=reasons[bad].to_numpy(), file=str(path)))
        good = normalized[~bad.to_numpy()]
        in_window = (good["ChargePeriodStart"] >= lo) & (good["ChargePeriodStart"] < hi)
        kept.append(good[in_window])
        log.info("%s: %d rows, %d in window, %d unreadable", path.name, len(raw), int(in_window.sum()),
                 int(bad.sum()))
    frame = pd.concat(kept, ignore_index=True) if kept else empty_frame()
    quarantined = pd.concat(rejected, ignore_index=True) if rejected else pd.DataFrame(columns=["reason", "file"])
    return frame, quarantined
