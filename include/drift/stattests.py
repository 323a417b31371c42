"""Per-column drift tests with the same defaults as Evidently's data-drift preset, on scipy.

Why our own code instead of ``evidently``: Evidently 0.7 pulls a large dependency tree (its own
UI server, plotly, nltk, litellm, pydantic pins) into the Airflow image for five small functions.
The statistics below are scipy's; only the *choice* of test and the thresholds follow Evidently
(``legacy/calculations/stattests/registry.py::_get_default_stattest``), so results are comparable
with an Evidently report on the same data:

==============================  ==================================  =========================
reference rows (after NaN drop)  column                              test, drift when
==============================  ==================================  =========================
<= 1000                          numeric, > 5 distinct values        KS p-value < 0.05
<= 1000                          numeric <= 5 values / categorical   chi-squared p < 0.05 (> 2
                                                                     values) or Z-test p < 0.05
                                                                     (binary)
> 1000                           numeric, > 5 distinct values        normed Wasserstein >= 0.1
> 1000                           numeric <= 5 values / categorical   Jensen-Shannon >= 0.1
==============================  ==================================  =========================

PSI (30 bins, Evidently's binning, >= 0.1 is "moderate shift") is computed for every column as an
extra, widely understood number; it does not vote on drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

#: Reference size above which distances replace p-values (Evidently's cut-off).
SMALL_REFERENCE_ROWS = 1000


@dataclass(frozen=True)
class TestOutcome:
    """One column's verdict: ``score`` is a p-value (``kind="p_value"``) or a distance."""

    test: str
    score: float
    threshold: float
    kind: str  # "p_value" | "distance"

    @property
    def drifted(self) -> bool:
        if np.isnan(self.score):
            return False
        return self.score < self.threshold if self.kind == "p_value" else self.score >= self.threshold


def more_than_n_values(values: pd.Series, n: int, probe: int = 2000) -> bool:
    """``values.nunique() > n``, usually from the first rows only.

    Exact: if a prefix already holds more than ``n`` distinct values so does the whole column.
    Only low-cardinality columns pay for a full pass (hashing 200k floats per column was a third
    of the drift check's time in bench/drift_speed.py).
    """
    if values.iloc[:probe].nunique() > n:
        return True
    return values.nunique() > n


def _keys(reference: pd.Series, current: pd.Series) -> list:
    return list(set(reference.unique()) | set(current.unique()))


def _category_shares(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    keys = _keys(reference, current)
    ref_counts = reference.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    cur_counts = current.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    return ref_counts / len(reference), cur_counts / len(current)


def binned_shares(reference: pd.Series, current: pd.Series, numeric: bool,
                  fill_zeroes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Share of rows per bin, binned the way Evidently does for PSI and Jensen-Shannon.

    Numeric columns with > 20 distinct reference values get Sturges bins over both samples;
    anything else is one bin per value. ``fill_zeroes`` replaces empty bins with a tiny share so
    the logarithm in PSI stays finite (Evidently's ``feel_zeroes``).
    """
    if numeric and more_than_n_values(reference, 20):
        ref_v, cur_v = reference.to_numpy(dtype=float), current.to_numpy(dtype=float)
        # Sturges bins over both samples (numpy's "sturges" rule), passed as a count and a range so
        # numpy takes its linear-time equal-width path instead of a search per value.
        n_bins = int(np.ceil(np.log2(len(ref_v) + len(cur_v)) + 1))
        lo, hi = min(ref_v.min(), cur_v.min()), max(ref_v.max(), cur_v.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        ref = np.histogram(ref_v, bins=n_bins, range=(lo, hi))[0] / len(ref_v)
        cur = np.histogram(cur_v, bins=n_bins, range=(lo, hi))[0] / len(cur_v)
    else:
        ref, cur = _category_shares(reference, current)
    if fill_zeroes:
        fill_empty_bins(ref)
        fill_empty_bins(cur)
    return ref, cur


def fill_empty_bins(shares: np.ndarray) -> np.ndarray:
    """Replace empty bins with a tiny share, in place (Evidently's ``feel_zeroes``)."""
    nonzero = shares[shares != 0]
    if nonzero.size:
        smallest = nonzero.min()
        np.place(shares, shares == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return shares


def psi_from_shares(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two share vectors over the same bins (empty bins filled as Evidently does)."""
    ref = fill_empty_bins(np.asarray(reference, dtype=float).copy())
    cur = fill_empty_bins(np.asarray(current, dtype=float).copy())
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def ks_test(reference: pd.Series, current: pd.Series, threshold: float = 0.05) -> TestOutcome:
    return TestOutcome("ks", float(stats.ks_2samp(reference, current).pvalue), threshold, "p_value")


def chi_squared_test(reference: pd.Series, current: pd.Series, threshold: float = 0.05) -> TestOutcome:
    """Goodness of fit of the current counts to the reference shares (Evidently's chi-squared)."""
    keys = _keys(reference, current)
    ref_counts = reference.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    observed = current.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    expected = ref_counts * (len(current) / len(reference))
    if (expected == 0).any():
        # A category never seen in the reference: scipy would divide by zero. Such a category is
        # drift by definition, so report p = 0 rather than crash.
        return TestOutcome("chi_squared", 0.0, threshold, "p_value")
    return TestOutcome("chi_squared", float(stats.chisquare(observed, expected).pvalue), threshold, "p_value")


def z_test(reference: pd.Series, current: pd.Series, threshold: float = 0.05) -> TestOutcome:
    """Two-proportion Z-test for binary columns (Evidently's ``z``)."""
    keys = sorted(_keys(reference, current), key=str)
    if len(keys) == 1:
        return TestOutcome("z", 1.0, threshold, "p_value")
    ref = (reference != keys[0]).to_numpy(dtype=float)
    cur = (current != keys[0]).to_numpy(dtype=float)
    n1, n2 = len(ref), len(cur)
    p1, p2 = ref.mean(), cur.mean()
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    denom = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if denom == 0:
        return TestOutcome("z", 1.0, threshold, "p_value")
    z = (p1 - p2) / denom
    return TestOutcome("z", float(2 * (1 - stats.norm.cdf(abs(z)))), threshold, "p_value")


def normed_wasserstein(reference: pd.Series, current: pd.Series, threshold: float = 0.1) -> TestOutcome:
    """Earth mover's distance in units of the reference standard deviation."""
    ref = reference.to_numpy(dtype=float)
    norm = max(float(np.std(ref)), 0.001)
    value = wasserstein_1d(ref, current.to_numpy(dtype=float)) / norm
    return TestOutcome("wasserstein_normed", float(value), threshold, "distance")


def wasserstein_1d(u: np.ndarray, v: np.ndarray) -> float:
    """First Wasserstein distance of two unweighted samples: the area between their quantile functions.

    Same value as ``scipy.stats.wasserstein_distance(u, v)`` (checked in the tests) at about a
    third of the cost: two plain sorts and integer arithmetic instead of argsorts, a 2n-element
    sort and two searchsorted passes. Both quantile functions are step functions that change at
    i/n and j/m; on the common grid (in units of 1/(n*m), exact in int64) each step contributes
    its width times the gap between the two samples' order statistics.
    """
    us, vs = np.sort(u), np.sort(v)
    n, m = len(us), len(vs)
    if n == m:
        return float(np.mean(np.abs(us - vs)))  # same breakpoints: the mean gap of order statistics
    # Breakpoints i*m and j*n: two sorted runs, which a stable sort merges in linear time.
    grid = np.sort(np.concatenate([np.arange(1, n + 1, dtype=np.int64) * m,
                                   np.arange(1, m + 1, dtype=np.int64) * n]), kind="stable")
    widths = np.diff(grid, prepend=0)
    iu = (grid + m - 1) // m - 1
    iv = (grid + n - 1) // n - 1
    return float(np.dot(widths, np.abs(us[iu] - vs[iv])) / (n * m))


def jensen_shannon(reference: pd.Series, current: pd.Series, numeric: bool,
                   threshold: float = 0.1) -> TestOutcome:
    ref, cur = binned_shares(reference, current, numeric, fill_zeroes=False)
    return TestOutcome("jensen_shannon", float(distance.jensenshannon(ref, cur)), threshold, "distance")


def psi(reference: pd.Series, current: pd.Series, numeric: bool) -> float:
    """Population stability index over Evidently's bins."""
    if reference.empty or current.empty:
        return float("nan")
    ref, cur = binned_shares(reference, current, numeric, fill_zeroes=False)
    return psi_from_shares(ref, cur)


def default_test(reference: pd.Series, current: pd.Series, numeric: bool) -> Callable[..., TestOutcome]:
    """Pick the test Evidently's preset would use for this column (see the module table)."""
    both = pd.concat([reference, current], ignore_index=True)
    many = more_than_n_values(both, 5)
    if len(reference) <= SMALL_REFERENCE_ROWS:
        if numeric and many:
            return ks_test
        return chi_squared_test if more_than_n_values(both, 2) else z_test
    if numeric and many:
        return normed_wasserstein
    return lambda r, c, threshold=0.1: jensen_shannon(r, c, numeric, threshold)


def column_test(reference: pd.Series, current: pd.Series, numeric: bool,
                threshold: float | None = None) -> TestOutcome:
    """Run the default test on one column; NaN and infinities are dropped first, as Evidently does."""
    ref = reference.replace([np.inf, -np.inf], np.nan).dropna()
    cur = current.replace([np.inf, -np.inf], np.nan).dropna()
    if ref.empty or cur.empty:
        return TestOutcome("empty", float("nan"), threshold or 0.0, "distance")
    test = default_test(ref, cur, numeric)
    return test(ref, cur) if threshold is None else test(ref, cur, threshold=threshold)
