"""Feature batches from the lake, checked, and split into training data and a fixed hold-out.

Layout (written by ``include.demo.writers.write_feature_batches`` or the real feature job)::

    raw/features/reference/reference.parquet   the population the champion was built for
    raw/features/<YYYY-MM-DD>/batch.parquet    one labelled batch per day

The hold-out is chosen by a hash of ``customer_id``, not by a random draw, so it is the same rows
on every rerun and task retry, for the champion and the challenger alike (a paired comparison).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from include.platform import storage
from include.platform.errors import PermanentError
from include.retraining.churn_model import ID_COLUMN
from include.retraining.features import CATEGORICAL, NUMERIC, TARGET

REQUIRED = (ID_COLUMN, *NUMERIC, *CATEGORICAL, TARGET)


def reference_path() -> storage.ObjectStoragePath:
    return storage.lake_path("raw", "features", "reference", "reference.parquet")


def batch_path(day: date) -> storage.ObjectStoragePath:
    return storage.lake_path("raw", "features", day.isoformat(), "batch.parquet")


class BatchSchemaError(PermanentError, ValueError):
    """A feature file without the required columns: rereading it cannot help, so no retry."""


def check_columns(frame: pd.DataFrame, where: str) -> None:
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise BatchSchemaError(f"{where} lacks columns {missing}",
                               f"re-export it with the columns {list(REQUIRED)}")


def split_valid_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid rows, rejected rows with ``row`` (0-based position in ``frame``) and ``reason``). Nothing is dropped silently."""
    reasons = pd.Series("", index=frame.index, dtype=object)
    reasons[frame[ID_COLUMN].isna()] += "missing customer_id; "
    reasons[~frame[TARGET].isin([0, 1])] += "churned is not 0/1; "
    for col in ("age", "tenure_months", "support_tickets", "last_login_days"):
        reasons[pd.to_numeric(frame[col], errors="coerce") < 0] += f"negative {col}; "
    reasons[frame[ID_COLUMN].duplicated(keep="first")] += "duplicate customer_id; "
    bad = reasons != ""
    rejected = frame[bad].copy()
    rejected.insert(0, "row", np.flatnonzero(bad.to_numpy()))
    rejected["reason"] = reasons[bad].str.rstrip("; ")
    return frame[~bad].reset_index(drop=True), rejected.reset_index(drop=True)


def in_holdout(ids: pd.Series, share: float) -> np.ndarray:
    """True for rows whose id hashes into the first ``share`` of the unit interval."""
    def unit(value: str) -> float:
        return int(hashlib.sha256(value.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    return np.array([unit(str(v)) < share for v in ids], dtype=bool)


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame      # reference + the batch's non-hold-out rows
    holdout: pd.DataFrame    # the batch's hold-out rows (the population the model serves now)


def training_split(reference: pd.DataFrame, batch: pd.DataFrame, holdout_share: float) -> Split:
    mask = in_holdout(batch[ID_COLUMN], holdout_share)
    holdout = batch[mask].reset_index(drop=True)
    if holdout[TARGET].nunique() < 2:
        raise ValueError(f"hold-out of {len(holdout)} rows has one class only: raise holdout_share or batch size")
    train = pd.concat([reference, batch[~mask]], ignore_index=True)
    return Split(train=train, holdout=holdout)


def validation_split(train: pd.DataFrame, share: float = 0.25, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fixed, stratified split of the training data for the search objective (never the hold-out)."""
    from sklearn.model_selection import train_test_split

    fit, val = train_test_split(train, test_size=share, random_state=seed, stratify=train[TARGET])
    return fit.reset_index(drop=True), val.reset_index(drop=True)


def fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of a frame, recorded with each model version (which data made it)."""
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes()).hexdigest()[:16]
