"""Drift tests: Evidently's default test choice, scipy-equal statistics, dataset verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from include.demo.customers import customer_table
from include.drift import stattests
from include.drift.config import DriftConfig
from include.drift.detect import detect_drift, prediction_drift

RNG = np.random.default_rng(0)


def _s(values, name="x"):
    return pd.Series(values, name=name)


@pytest.mark.parametrize(
    ("n_ref", "values", "numeric", "expected"),
    [
        (500, RNG.normal(size=500), True, "ks"),
        (500, RNG.integers(0, 4, 500), True, "chi_squared"),       # numeric with <= 5 values
        (500, RNG.integers(0, 2, 500), True, "z"),                 # binary
        (500, RNG.choice(list("abc"), 500), False, "chi_squared"),
        (500, RNG.choice(list("ab"), 500), False, "z"),
        (3000, RNG.normal(size=3000), True, "wasserstein_normed"),
        (3000, RNG.integers(0, 4, 3000), True, "jensen_shannon"),
        (3000, RNG.choice(list("abcd"), 3000), False, "jensen_shannon"),
    ],
)
def test_default_test_follows_evidently_preset(n_ref, values, numeric, expected):
    ref = _s(values[:n_ref])
    cur = _s(values[: n_ref // 2])
    assert stattests.column_test(ref, cur, numeric).test == expected


def test_statistics_match_scipy_and_thresholds():
    ref, cur = _s(RNG.normal(size=400)), _s(RNG.normal(0.5, 1, size=300))
    ks = stattests.ks_test(ref, cur)
    assert ks.score == pytest.approx(stats.ks_2samp(ref, cur).pvalue)
    assert ks.drifted and ks.threshold == 0.05

    big_ref, big_cur = _s(RNG.normal(size=5000)), _s(RNG.normal(0.5, 1, size=5000))
    wd = stattests.normed_wasserstein(big_ref, big_cur)
    assert wd.score == pytest.approx(stats.wasserstein_distance(big_ref, big_cur) / np.std(big_ref))
    assert wd.drifted and wd.threshold == 0.1

    # Chi-squared: current counts against reference shares scaled to the current size.
    ref_c = _s(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    cur_c = _s(["a"] * 20 + ["b"] * 20 + ["c"] * 10)
    expected = stats.chisquare([20, 20, 10], [25, 15, 10]).pvalue
    assert stattests.chi_squared_test(ref_c, cur_c).score == pytest.approx(expected)

    # Z-test: two-proportion test, two-sided.
    z = stattests.z_test(_s([0] * 60 + [1] * 40), _s([0] * 40 + [1] * 60))
    pooled = 0.5
    zstat = (0.4 - 0.6) / np.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert z.score == pytest.approx(2 * (1 - stats.norm.cdf(abs(zstat))))


def test_same_distribution_does_not_drift_and_psi_is_small():
    ref, cur = _s(RNG.normal(size=4000)), _s(RNG.normal(size=4000))
    outcome = stattests.column_test(ref, cur, numeric=True)
    assert not outcome.drifted
    assert stattests.psi(ref, cur, numeric=True) < 0.1
    assert stattests.psi(ref, _s(RNG.normal(1.0, 1, size=4000)), numeric=True) > 0.1


def test_unseen_category_is_drift_not_a_crash():
    out = stattests.chi_squared_test(_s(list("aabb" * 50)), _s(list("aabbz" * 20)))
    assert out.drifted and out.score == 0.0


def test_nan_is_dropped_before_testing():
    ref = _s(np.r_[RNG.normal(size=800), [np.nan] * 300])
    out = stattests.column_test(ref, _s(RNG.normal(size=500)), numeric=True)
    assert out.test == "ks"  # 800 non-missing reference rows: the small-reference test


def test_dataset_drift_on_demo_batches():
    reference = customer_table(2000, seed=1)
    stable = detect_drift(reference, customer_table(1000, seed=2), exclude=["customer_id"], target="churned")
    drifted = detect_drift(reference, customer_table(1000, seed=3, drift=0.6), exclude=["customer_id"],
                           target="churned", drift_share=0.5)
    assert not stable.dataset_drift and stable.n_columns == 10
    assert drifted.dataset_drift and drifted.drifted_share >= 0.5
    assert "customer_id" not in set(drifted.frame()["column"])
    assert drifted.extra["target"].drifted  # label drift is reported, outside the share
    assert "churned" not in drifted.summary()["drifted_columns"]
    assert {"psi", "test", "score", "threshold"} <= set(drifted.frame().columns)


def test_prediction_drift_uses_numeric_default():
    ref, cur = RNG.beta(2, 8, 3000), RNG.beta(4, 6, 2000)
    legacy = prediction_drift(ref, cur, config=DriftConfig(method="evidently"))
    assert legacy.test == "wasserstein_normed" and legacy.drifted
    ours = prediction_drift(ref, cur)
    assert ours.test == "ks+wasserstein" and ours.drifted and ours.score > 0.1 and ours.p_adjusted < 0.05


def test_dataset_drift_on_demo_batches_with_evidently_method():
    reference = customer_table(2000, seed=1)
    legacy = DriftConfig(method="evidently")
    stable = detect_drift(reference, customer_table(1000, seed=2), exclude=["customer_id"], target="churned",
                          config=legacy)
    drifted = detect_drift(reference, customer_table(1000, seed=3, drift=0.6), exclude=["customer_id"],
                           target="churned", config=legacy)
    assert not stable.dataset_drift and drifted.dataset_drift
    assert set(drifted.frame()["test"]) <= {"wasserstein_normed", "jensen_shannon"}


@pytest.mark.parametrize(("n", "m"), [(1000, 1000), (997, 1500), (5, 3), (3000, 7)])
def test_fast_wasserstein_equals_scipy(n, m):
    u, v = RNG.normal(size=n), RNG.lognormal(size=m)
    assert stattests.wasserstein_1d(u, v) == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-9)
    ties_u, ties_v = RNG.poisson(3, n).astype(float), RNG.poisson(4, m).astype(float)
    assert stattests.wasserstein_1d(ties_u, ties_v) == pytest.approx(stats.wasserstein_distance(ties_u, ties_v),
                                                                    rel=1e-9)


def test_binned_shares_match_numpy_sturges_edges():
    ref, cur = _s(RNG.normal(size=3000)), _s(RNG.normal(0.3, 1, size=2000))
    edges = np.histogram_bin_edges(np.r_[ref, cur], bins="sturges")
    r, c = stattests.binned_shares(ref, cur, numeric=True, fill_zeroes=False)
    np.testing.assert_allclose(r, np.histogram(ref, edges)[0] / 3000)
    np.testing.assert_allclose(c, np.histogram(cur, edges)[0] / 2000)
