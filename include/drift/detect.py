"""Dataset drift: per-column verdicts, then a dataset verdict by the share of drifted columns.

Two methods (:class:`include.drift.config.DriftConfig`, ``method``):

* ``"effect_size"`` (default, :mod:`include.drift.effect`): every column gets a value test (KS for
  numeric, chi-squared homogeneity on pooled categories for categorical / discrete) and, when either
  sample has missing values, a missing-share test. All p-values of the batch are adjusted together
  (Benjamini-Hochberg by default), and a signal counts only when its adjusted p-value is below
  ``fdr`` **and** its effect size reaches the minimum: significant-but-negligible shifts on huge
  batches and large-looking noise on small ones are both "no drift". A column drifts when its
  values or its missing share drift; the reason is written beside the verdict.
* ``"evidently"``: Evidently's ``DataDriftPreset`` defaults (:mod:`include.drift.stattests`), no
  missingness signal and no multiple-testing control; kept for comparison.

The dataset counts as drifted when the share of drifted feature columns reaches ``drift_share``
(Evidently's default 0.5; a DAG Param here). Identifier and target columns are left out of the
share: an id always "drifts", and label drift is reported on its own line because labels usually
arrive later than features.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from include.drift import effect, stattests
from include.drift.config import DriftConfig


class InsufficientData(ValueError):
    """Too little data for any drift verdict; callers must not read it as "no drift"."""


@dataclass(frozen=True)
class ColumnDrift:
    """One column's verdict. ``score`` is compared with ``threshold`` as ``score_kind`` says.

    With the effect-size method ``score`` is the value effect size and ``threshold`` its minimum;
    ``p_adjusted`` must also be below the config's ``fdr``. With the Evidently method ``score`` is
    the p-value or distance of its default test, and the extra fields stay empty.
    """

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
    p_value: float = float("nan")
    p_adjusted: float = float("nan")
    value_drifted: bool = False
    missing_reference: float = 0.0
    missing_current: float = 0.0
    missing_effect: float = float("nan")
    missing_p_adjusted: float = float("nan")
    missing_drifted: bool = False
    pooled_categories: int = 0
    new_category_share: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class DriftResult:
    columns: list[ColumnDrift]
    drift_share_threshold: float
    extra: dict[str, ColumnDrift] = field(default_factory=dict)  # target / prediction, not in the share
    config: DriftConfig = field(default_factory=DriftConfig)

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
        return bool(self.columns) and self.n_drifted > 0 and self.drifted_share >= self.drift_share_threshold

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def frame(self) -> pd.DataFrame:
        rows = [asdict(c) | {"role": "feature"} for c in self.columns]
        rows += [asdict(c) | {"role": role} for role, c in self.extra.items()]
        return pd.DataFrame(rows)

    def summary(self) -> dict:
        """Small, JSON-safe dict for XCom and the decision."""
        return {
            "method": self.config.method,
            "n_columns": self.n_columns,
            "n_drifted": self.n_drifted,
            "drifted_share": round(self.drifted_share, 4),
            "drift_share_threshold": self.drift_share_threshold,
            "dataset_drift": self.dataset_drift,
            "drifted_columns": self.drifted_columns,
            "missing_drifted_columns": [c.column for c in self.columns if c.missing_drifted],
            **{f"{role}_drift": c.drifted for role, c in self.extra.items()},
            **{f"{role}_drift_score": _safe(c.score) for role, c in self.extra.items()},
        }


def _safe(value: float) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), 6)


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


# -- Evidently's defaults --------------------------------------------------------------------------
def column_drift(reference: pd.Series, current: pd.Series, threshold: float | None = None,
                 numeric: bool | None = None) -> ColumnDrift:
    """One column with Evidently's default test (the ``"evidently"`` method)."""
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


# -- effect-size-aware -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pending:
    """A column's raw signals, before the batch-wide p-value adjustment."""

    column: str
    column_type: str
    value: effect.Signal | None
    missing: effect.Signal | None
    min_effect: float
    psi: float
    reference_rows: int
    current_rows: int
    missing_reference: float
    missing_current: float
    pooled_categories: int = 0
    new_category_share: float = 0.0
    note: str = ""


def _finite(series: pd.Series) -> np.ndarray:
    """Float values of a numeric column; NaN, None and +-inf all count as missing."""
    values = series.to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def _signals(reference: pd.Series, current: pd.Series, cfg: DriftConfig, numeric: bool | None,
             min_effect: float | None) -> _Pending:
    numeric = is_numeric(reference) if numeric is None else numeric
    if numeric:
        rs, cs = np.sort(_finite(reference)), np.sort(_finite(current))
        n_ref, n_cur = len(rs), len(cs)
        distinct = np.union1d(effect.distinct_sorted(rs[:2000]), effect.distinct_sorted(cs[:2000]))
        if len(distinct) <= cfg.max_discrete_values:
            distinct = np.union1d(effect.distinct_sorted(rs), effect.distinct_sorted(cs))
        as_numeric = len(distinct) > cfg.max_discrete_values
    else:
        ref, cur = reference.dropna(), current.dropna()
        n_ref, n_cur = len(ref), len(cur)
        as_numeric = False
    miss_r, miss_c = len(reference) - n_ref, len(current) - n_cur
    missing = (effect.missing_signal(miss_r, len(reference), miss_c, len(current))
               if (miss_r or miss_c) and len(reference) and len(current) else None)
    common = dict(column=str(reference.name), column_type="numeric" if numeric else "categorical",
                  missing=missing, reference_rows=n_ref, current_rows=n_cur,
                  missing_reference=miss_r / len(reference) if len(reference) else 0.0,
                  missing_current=miss_c / len(current) if len(current) else 0.0)
    floor = min_effect if min_effect is not None else (
        cfg.min_effect_numeric if as_numeric else cfg.min_effect_categorical)
    if n_ref < cfg.min_rows or n_cur < cfg.min_rows:
        return _Pending(value=None, min_effect=floor, psi=float("nan"),
                        note=f"too few non-missing rows ({n_ref} / {n_cur} < min_rows {cfg.min_rows})", **common)
    if as_numeric:
        signal, psi = effect.numeric_signal(rs, cs)
        return _Pending(value=signal, min_effect=floor, psi=psi, **common)
    if numeric:  # a few distinct values: tested as categories
        ref, cur = pd.Series(rs), pd.Series(cs)
    signal, pooled = effect.categorical_signal(ref, cur, cfg.min_expected)
    return _Pending(value=signal, min_effect=floor, psi=pooled.psi, pooled_categories=pooled.pooled_categories,
                    new_category_share=pooled.new_category_share, **common)


def _judge(pending: list[_Pending], cfg: DriftConfig) -> list[ColumnDrift]:
    """Adjust every p-value of the batch together, then apply both gates per signal."""
    raw = [s.value.p_value if s.value else np.nan for s in pending]
    raw += [s.missing.p_value if s.missing else np.nan for s in pending]
    adjusted = effect.adjust(np.array(raw, dtype=float), cfg.correction)
    k = len(pending)
    out = []
    for i, s in enumerate(pending):
        p_val, p_miss = adjusted[i], adjusted[k + i]
        reasons = []
        value_drifted = False
        if s.value is None:
            reasons.append(s.note)
        else:
            significant = p_val < cfg.fdr
            large = s.value.effect >= s.min_effect
            value_drifted = bool(significant and large)
            verdict = ("drift" if value_drifted else
                       "negligible" if significant else "not significant")
            reasons.append(f"values: {verdict} ({s.value.effect_kind} {s.value.effect:.3g} vs min {s.min_effect:g}, "
                           f"adj. p {p_val:.2g} vs {cfg.fdr:g})")
        missing_drifted = False
        if s.missing is not None:
            missing_drifted = bool(p_miss < cfg.fdr and s.missing.effect >= cfg.min_effect_missing)
            if missing_drifted or s.missing.effect >= cfg.min_effect_missing:
                reasons.append(f"missing {s.missing_reference:.1%} -> {s.missing_current:.1%}: "
                               f"{'drift' if missing_drifted else 'not significant'} (Cohen's h "
                               f"{s.missing.effect:.3g}, adj. p {p_miss:.2g})")
        if s.new_category_share:
            reasons.append(f"{s.new_category_share:.1%} of the batch in categories unseen in the reference")
        out.append(ColumnDrift(
            column=s.column, column_type=s.column_type,
            test=s.value.test if s.value else "none",
            score=s.value.effect if s.value else float("nan"),
            threshold=s.min_effect,
            score_kind=s.value.effect_kind if s.value else "none",
            drifted=value_drifted or missing_drifted,
            psi=s.psi, reference_rows=s.reference_rows, current_rows=s.current_rows,
            p_value=s.value.p_value if s.value else float("nan"),
            p_adjusted=float(p_val),
            value_drifted=value_drifted,
            missing_reference=s.missing_reference, missing_current=s.missing_current,
            missing_effect=s.missing.effect if s.missing else float("nan"),
            missing_p_adjusted=float(p_miss), missing_drifted=missing_drifted,
            pooled_categories=s.pooled_categories, new_category_share=s.new_category_share,
            reason="; ".join(reasons),
        ))
    return out


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    target: str | None = None,
    drift_share: float | None = None,
    thresholds: dict[str, float] | None = None,
    config: DriftConfig | None = None,
) -> DriftResult:
    """Test every shared column (minus ``exclude`` and ``target``) and the target on its own line.

    ``config`` picks the method and thresholds (default: effect-size-aware, see the module doc);
    ``drift_share`` overrides ``config.drift_share``. ``thresholds`` overrides the threshold per
    column: the minimum effect size (effect-size method) or the p-value / distance of Evidently's
    test (Evidently method), like Evidently's ``per_column_threshold``.
    """
    cfg = config or DriftConfig()
    if drift_share is not None:
        cfg = replace(cfg, drift_share=drift_share)
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
    has_target = bool(target and target in reference.columns and target in current.columns)
    if cfg.method == "evidently":
        results = [column_drift(reference[c], current[c], thresholds.get(c)) for c in names]
        extra = {"target": column_drift(reference[target], current[target], numeric=False)} if has_target else {}
        return DriftResult(columns=results, drift_share_threshold=cfg.drift_share, extra=extra, config=cfg)
    pending = [_signals(reference[c], current[c], cfg, None, thresholds.get(c)) for c in names]
    results = _judge(pending, cfg)
    extra = {}
    if has_target:
        # The label is its own family of one: it does not dilute or borrow from the features' FDR.
        extra["target"] = _judge([_signals(reference[target], current[target], cfg, False, None)], cfg)[0]
    return DriftResult(columns=results, drift_share_threshold=cfg.drift_share, extra=extra, config=cfg)


def prediction_drift(reference_scores: np.ndarray, current_scores: np.ndarray,
                     threshold: float | None = None, config: DriftConfig | None = None) -> ColumnDrift:
    """Drift of the champion's predicted churn probability (a numeric column, its own test family)."""
    cfg = config or DriftConfig()
    ref = pd.Series(reference_scores, name="prediction", dtype=float)
    cur = pd.Series(current_scores, name="prediction", dtype=float)
    if cfg.method == "evidently":
        return column_drift(ref, cur, threshold, numeric=True)
    return _judge([_signals(ref, cur, cfg, True, threshold)], cfg)[0]


def with_prediction(result: DriftResult, prediction: ColumnDrift | None) -> DriftResult:
    if prediction is None:
        return result
    return DriftResult(result.columns, result.drift_share_threshold, {**result.extra, "prediction": prediction},
                       result.config)
