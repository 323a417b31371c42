"""Privacy metrics with SDMetrics' definitions: DCRBaselineProtection and the exact-copy rate.

Distance between two rows (SDMetrics DCR): mean over columns of a per-column distance in [0, 1] -
``|a - b| / range(real column)`` capped at 1 for continuous columns, 0/1 for categories; a missing
value is 0 from another missing value and 1 from anything else.
``DCRBaselineProtection = min(1, median DCR(synthetic -> real) / median DCR(random -> real))``, the
random rows drawn uniformly over each real column's range / categories: 1.0 means synthetic rows sit
no closer to real people than random noise does; near 0 means they are (near-)copies.

Synthetic rows are subsampled (``max_rows``, as SDMetrics' ``num_rows_subsample``) because DCR is a
nearest-neighbour search; distances are computed in chunks with numpy to bound memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from include.synthetic.schema import TableSchema


def _encode(frame: pd.DataFrame, schema: TableSchema, ref: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Continuous columns scaled by the real range (NaN kept); categories as integer codes (-1 = missing)."""
    num = []
    for spec in schema.continuous:
        r = pd.to_numeric(ref[spec.name], errors="coerce")
        lo, hi = float(r.min()), float(r.max())
        span = (hi - lo) or 1.0
        num.append((pd.to_numeric(frame[spec.name], errors="coerce").to_numpy("float64", na_value=np.nan) - lo) / span)
    cat = []
    for spec in schema.categorical:
        levels = {str(c): i for i, c in enumerate(spec.categories)}
        col = frame[spec.name]
        cat.append(np.array([-1 if pd.isna(v) else levels.get(str(v), -2) for v in col], dtype=np.int32))
    n = len(frame)
    return (np.stack(num, axis=1) if num else np.zeros((n, 0))), (np.stack(cat, axis=1) if cat else np.zeros((n, 0), np.int32))


def min_row_distances(query: pd.DataFrame, real: pd.DataFrame, schema: TableSchema, chunk: int = 64) -> np.ndarray:
    """For every row of ``query``, its distance to the closest row of ``real`` (SDMetrics DCR)."""
    qn, qc = _encode(query, schema, real)
    rn, rc = _encode(real, schema, real)
    return _nearest(qn, qc, rn, rc, chunk)


def _nearest(qn: np.ndarray, qc: np.ndarray, rn: np.ndarray, rc: np.ndarray, chunk: int) -> np.ndarray:
    n_cols = qn.shape[1] + qc.shape[1]
    r_nan = np.isnan(rn)
    rn0 = np.nan_to_num(rn)
    out = np.empty(qn.shape[0])
    for i in range(0, qn.shape[0], chunk):
        q = qn[i:i + chunk]
        q_nan = np.isnan(q)
        d = np.minimum(np.abs(np.nan_to_num(q)[:, None, :] - rn0[None, :, :]), 1.0)
        both = q_nan[:, None, :] & r_nan[None, :, :]
        one = q_nan[:, None, :] ^ r_nan[None, :, :]
        d = np.where(both, 0.0, np.where(one, 1.0, d)).sum(axis=2)
        d += (qc[i:i + chunk][:, None, :] != rc[None, :, :]).sum(axis=2)
        out[i:i + chunk] = d.min(axis=1) / max(n_cols, 1)
    return out


def random_baseline(real: pd.DataFrame, schema: TableSchema, n: int, seed: int) -> pd.DataFrame:
    """Rows drawn uniformly over each real column's range or category set (SDMetrics' baseline)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for spec in schema.columns:
        if spec.is_continuous:
            r = pd.to_numeric(real[spec.name], errors="coerce")
            cols[spec.name] = rng.uniform(float(r.min()), float(r.max()), n)
        else:
            cols[spec.name] = np.array(spec.categories, dtype=object)[rng.integers(0, len(spec.categories), n)]
    return pd.DataFrame(cols)


def dcr_baseline_protection(real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema,
                            max_rows: int = 1000, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    sample = synthetic if len(synthetic) <= max_rows else synthetic.iloc[rng.choice(len(synthetic), max_rows, replace=False)]
    dcr_syn = float(np.median(min_row_distances(sample, real, schema)))
    dcr_rand = float(np.median(min_row_distances(random_baseline(real, schema, len(sample), seed), real, schema)))
    score = 1.0 if dcr_rand == 0 else min(1.0, dcr_syn / dcr_rand)
    return {"dcr_baseline_protection": score, "median_dcr_synthetic": dcr_syn, "median_dcr_random": dcr_rand,
            "dcr_rows_compared": float(len(sample))}


def exact_copy_rate(real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema) -> float:
    """Share of synthetic rows identical to some real row on every modelled column (1 - NewRowSynthesis)."""
    if synthetic.empty:
        return 0.0

    def keys(frame: pd.DataFrame) -> pd.Series:
        norm = pd.DataFrame({c: _labels(frame[c]) for c in schema.names})
        return pd.util.hash_pandas_object(norm, index=False)

    return float(keys(synthetic).isin(set(keys(real))).mean())


def _labels(series: pd.Series) -> pd.Series:
    # 3 and 3.0 must compare equal: numbers are normalised through float before turning into text.
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = pd.to_numeric(series, errors="coerce").astype("float64")
        return values.map(lambda v: "<NA>" if pd.isna(v) else repr(float(v)))
    return series.astype(object).where(series.notna(), "<NA>").map(str)


def dcr_overfitting_protection(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                               schema: TableSchema, max_rows: int = 1000, seed: int = 0) -> dict[str, float]:
    """SDMetrics' DCROverfittingProtection: are synthetic rows closer to the training rows than to unseen ones?

    A row drawn fresh from the population is, by exchangeability, closest to a training row with
    probability ``p0 = n_train / (n_train + n_holdout)`` (0.5 for equal sizes, SDMetrics' setting).
    ``score = min(1, (1 - share_closer_to_train) / (1 - p0))`` (ties count half): 1.0 = no sign of
    memorisation, 0.0 = every synthetic row is nearest to a training row. Generalising SDMetrics'
    ``2 * (1 - share)`` to unequal sizes lets us use the whole training set, so memorising any
    training row counts (subsampling the training set to the hold-out size would hide most of them).
    """
    rng = np.random.default_rng(seed)
    sample = synthetic if len(synthetic) <= max_rows else synthetic.iloc[rng.choice(len(synthetic), max_rows, replace=False)]
    # Both distance sets must share one scale: normalise by the union of the two real sets.
    ref = pd.concat([train, holdout], ignore_index=True)
    d_train = _min_distances_ref(sample, train, schema, ref)
    d_hold = _min_distances_ref(sample, holdout, schema, ref)
    closer = float(np.mean((d_train < d_hold) + 0.5 * (d_train == d_hold)))
    p0 = len(train) / (len(train) + len(holdout))
    return {"dcr_overfitting_protection": float(min(1.0, (1.0 - closer) / (1.0 - p0))),
            "share_closer_to_train": closer, "expected_share_closer_to_train": p0}


def _min_distances_ref(query: pd.DataFrame, target: pd.DataFrame, schema: TableSchema, ref: pd.DataFrame,
                       chunk: int = 64) -> np.ndarray:
    """``min_row_distances`` with column ranges taken from ``ref`` (so two targets are comparable)."""
    qn, qc = _encode(query, schema, ref)
    tn, tc = _encode(target, schema, ref)
    return _nearest(qn, qc, tn, tc, chunk)
