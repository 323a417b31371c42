"""Dataset drift: run the per-column tests and decide by the share of drifted columns.

Mirrors Evidently's ``DataDriftPreset``: every feature column is tested with the default test for
its type and the reference size (see ``stattests``), and the dataset counts as drifted when the
share of drifted columns reaches ``drift_share`` (Evidently's default 0.5; a DAG Param here).
Identifier and target columns are left out of the share: an id always "drifts", and label drift
is reported on its own line because labels usually arrive later than features.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from include.drift import stattests


class InsufficientData(ValueError):
    """Too little data for any drift verdict; callers must not read it as "no drift"."""


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    column_type: str  # "numeric" | "categorical"
    test: str
    score: float
    threshold: float
    score_kind: str
    drifted: bool
    psi: float
    reference_rows: int
    current_rows: int


@dataclass(frozen=True)
class DriftResult:
    columns: list[ColumnDrift]
    drift_share_threshold: float
    extra: dict[str, ColumnDrift] = field(default_factory=dict)  # target / prediction, not in the share

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    @property
    def n_drifted(self) -> int:
        return sum(c.drifted for c in self.columns)

    @property
    def drifted_share(self) -> float:
        return self.n_drifted / self.n_columns if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.columns) and self.drifted_share >= self.drift_share_threshold

    def frame(self) -> pd.DataFrame:
        rows = [asdict(c) | {"role": "feature"} for c in self.columns]
        rows += [asdict(c) | {"role": role} for role, c in self.extra.items()]
        return pd.DataFrame(rows)

    def summary(self) -> dict:
        """Small, JSON-safe dict for XCom and the decision."""
        return {
            "n_columns": self.n_columns,
            "n_drifted": self.n_drifted,
            "drifted_share": round(self.drifted_share, 4),
            "drift_share_threshold": self.drift_share_threshold,
            "dataset_drift": self.dataset_drift,
            "drifted_columns": [c.column for c in self.columns if c.drifted],
            **{f"{role}_drift": c.drifted for role, c in self.extra.items()},
            **{f"{role}_drift_score": _safe(c.score) for role, c in self.extra.items()},
        }


def _safe(value: float) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), 6)


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def column_drift(reference: pd.Series, current: pd.Series, threshold: float | None = None,
                 numeric: bool | None = None) -> ColumnDrift:
    numeric = is_numeric(reference) if numeric is None else numeric
    outcome = stattests.column_test(reference, current, numeric, threshold)
    ref, cur = reference.dropna(), current.dropna()
    return ColumnDrift(
        column=str(reference.name),
        column_type="numeric" if numeric else "categorical",
        test=outcome.test,
        score=outcome.score,
        threshold=outcome.threshold,
        score_kind=outcome.kind,
        drifted=outcome.drifted,
        psi=stattests.psi(ref, cur, numeric),
        reference_rows=len(ref),
        current_rows=len(cur),
    )


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    target: str | None = None,
    drift_share: float = 0.5,
    thresholds: dict[str, float] | None = None,
) -> DriftResult:
    """Test every shared column (minus ``exclude`` and ``target``) and the target on its own line.

    ``thresholds`` overrides the default threshold per column (p-value or distance, whichever the
    chosen test reports), like Evidently's ``per_column_threshold``.
    """
    if reference.empty or current.empty:
        # Every test would find "nothing drifted" in zero rows; that is no evidence, not "no drift".
        empty = "reference" if reference.empty else "current batch"
        raise InsufficientData(f"the {empty} has no rows: drift cannot be assessed (see include.drift.evidence)")
    thresholds = thresholds or {}
    skip = set(exclude) | ({target} if target else set())
    names = [c for c in (columns or reference.columns) if c in current.columns and c not in skip]
    missing = [c for c in (columns or []) if c not in current.columns or c not in reference.columns]
    if missing:
        raise KeyError(f"columns {missing} are missing from the reference or the current batch")
    results = [column_drift(reference[c], current[c], thresholds.get(c)) for c in names]
    extra = {}
    if target and target in reference.columns and target in current.columns:
        extra["target"] = column_drift(reference[target], current[target], numeric=False)
    return DriftResult(columns=results, drift_share_threshold=drift_share, extra=extra)


def prediction_drift(reference_scores: np.ndarray, current_scores: np.ndarray,
                     threshold: float | None = None) -> ColumnDrift:
    """Drift of the champion's predicted churn probability (a numeric column to Evidently)."""
    return column_drift(pd.Series(reference_scores, name="prediction"),
                        pd.Series(current_scores, name="prediction"), threshold, numeric=True)


def with_prediction(result: DriftResult, prediction: ColumnDrift | None) -> DriftResult:
    if prediction is None:
        return result
    return DriftResult(result.columns, result.drift_share_threshold, {**result.extra, "prediction": prediction})
