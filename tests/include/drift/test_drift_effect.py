"""The effect-size-aware drift method: real verdicts on data with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from include.drift import effect
from include.drift.config import DriftConfig
from include.drift.detect import detect_drift

EVIDENTLY = DriftConfig(method="evidently")


def population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Mixed table: two numeric, one discrete, two categorical (one with many rare values)."""
    rare = [f"country_{i}" for i in range(40)]
    weights = np.r_[0.8, np.full(40, 0.2 / 40)]
    return pd.DataFrame({
        "age": rng.normal(40, 12, n).round(),
        "spend": rng.lognormal(3, 0.6, n),
        "tickets": rng.poisson(1.2, n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        "country": rng.choice(["home", *rare], n, p=weights),
    })


def test_no_shift_raises_no_alarm_at_any_level():
    rng = np.random.default_rng(1)
    for _ in range(5):
        result = detect_drift(population(5000, rng), population(2000, rng))
        assert result.drifted_columns == [] and not result.dataset_drift


def test_planted_mean_shift_is_flagged_and_only_there():
    rng = np.random.default_rng(2)
    reference, current = population(5000, rng), population(2000, rng)
    current["age"] = current["age"] + 0.3 * 12
    result = detect_drift(reference, current)
    assert result.drifted_columns == ["age"]
    age = result.columns[0]
    assert age.value_drifted and age.score == pytest.approx(0.3, abs=0.05) and age.p_adjusted < 1e-6


def test_significant_but_negligible_shift_on_huge_batches_is_not_drift():
    rng = np.random.default_rng(3)
    n = 200_000
    reference = pd.DataFrame({"x": rng.normal(0, 1, n)})
    current = pd.DataFrame({"x": rng.normal(0.03, 1, n)})  # 3 % of a std
    result = detect_drift(reference, current)
    x = result.columns[0]
    assert x.p_value < 1e-10  # KS: overwhelmingly significant at this size ...
    assert x.score < 0.05 and not x.drifted  # ... but far below the 0.1-std materiality line
    assert "negligible" in x.reason
    # A material shift of the same batch size is still caught.
    current["x"] = current["x"] + 0.2
    assert detect_drift(reference, current).columns[0].drifted


def test_sparse_categories_do_not_raise_false_alarms_where_evidently_does():
    rng = np.random.default_rng(4)
    ours_alarms, evidently_alarms = 0, 0
    for _ in range(10):
        reference, current = population(400, rng), population(3000, rng)  # small reference: p-value regime
        ours = detect_drift(reference[["country"]], current[["country"]])
        legacy = detect_drift(reference[["country"]], current[["country"]], config=EVIDENTLY)
        ours_alarms += ours.n_drifted
        evidently_alarms += legacy.n_drifted
        assert ours.columns[0].pooled_categories > 0
    assert ours_alarms == 0
    assert evidently_alarms >= 5  # chi-squared on expected counts < 1 fires on noise


def test_pooled_bins_have_expected_counts_of_at_least_five():
    rng = np.random.default_rng(5)
    reference, current = population(300, rng), population(800, rng)
    pooled = effect.pool_categories(reference["country"], current["country"])
    table = np.vstack([pooled.reference, pooled.current])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    assert expected.min() >= 5 and len(pooled.bins) >= 2
    assert table.sum() == 1100  # nothing dropped by pooling


def test_a_large_new_category_is_drift_and_its_mass_is_reported():
    rng = np.random.default_rng(6)
    reference, current = population(3000, rng), population(2000, rng)
    current.loc[: 199, "plan"] = "enterprise"  # 10 % of the batch in a category the reference never had
    result = detect_drift(reference[["plan"]], current[["plan"]])
    plan = result.columns[0]
    assert plan.drifted and plan.new_category_share == pytest.approx(0.1)


def test_missingness_is_its_own_signal():
    rng = np.random.default_rng(7)
    reference, current = population(5000, rng), population(3000, rng)
    current.loc[rng.random(3000) < 0.05, "spend"] = np.nan  # MCAR: the observed values keep their distribution
    result = detect_drift(reference, current)
    spend = next(c for c in result.columns if c.column == "spend")
    assert spend.drifted and spend.missing_drifted and not spend.value_drifted
    assert result.summary()["missing_drifted_columns"] == ["spend"]
    # Evidently's preset drops missing values before testing: the same batch looks clean to it.
    assert "spend" not in detect_drift(reference, current, config=EVIDENTLY).drifted_columns


def test_too_few_rows_gives_no_value_verdict():
    rng = np.random.default_rng(8)
    reference = pd.DataFrame({"x": rng.normal(size=500)})
    current = pd.DataFrame({"x": rng.normal(5, 1, 10)})
    x = detect_drift(reference, current).columns[0]
    assert not x.drifted and "too few" in x.reason


def test_benjamini_hochberg_matches_scipy_and_holm_is_step_down():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    np.testing.assert_allclose(effect.adjust(p, "bh"), stats.false_discovery_control(p))
    holm = effect.adjust(p, "holm")
    assert holm[0] == pytest.approx(0.01) and holm[1] == pytest.approx(0.072)
    assert np.all(np.diff(holm) >= 0) and holm.max() <= 1
    assert np.isnan(effect.adjust(np.array([0.01, np.nan]), "bh")[1])


def test_bh_keeps_the_false_discovery_rate_across_many_columns():
    """40 null columns + 4 shifted ones, 15 draws: the share of false flags stays near the 5 % FDR."""
    rng = np.random.default_rng(9)
    p_gate_only = DriftConfig(min_effect_numeric=0.0)  # isolate the p-value gate
    shifted = {f"c{i}" for i in range(4)}
    false_bh, flagged_bh, true_bh, false_raw = 0, 0, 0, 0
    for _ in range(15):
        reference = pd.DataFrame({f"c{i}": rng.normal(size=400) for i in range(44)})
        current = pd.DataFrame({f"c{i}": rng.normal(0.5 if i < 4 else 0.0, 1, 300) for i in range(44)})
        result = detect_drift(reference, current, config=p_gate_only)
        flagged = set(result.drifted_columns)
        false_bh += len(flagged - shifted)
        flagged_bh += len(flagged)
        true_bh += len(flagged & shifted)
        false_raw += sum(c.p_value < 0.05 for c in result.columns if c.column not in shifted)
    assert false_bh / flagged_bh <= 0.08  # realised FDR (nominal 0.05 * 40/44)
    assert true_bh >= 0.9 * 15 * 4  # the real shifts survive the correction
    assert false_raw >= 5 * max(false_bh, 1)  # uncorrected p < 0.05: about 2 false flags per batch


def test_config_is_validated():
    with pytest.raises(ValueError, match="method"):
        DriftConfig(method="psi")
    with pytest.raises(ValueError, match="fdr"):
        DriftConfig(fdr=0)
    with pytest.raises(ValueError, match="Hellinger"):
        DriftConfig(min_effect_categorical=1.5)


def test_retraining_params_build_the_drift_config():
    from include.retraining.config import RetrainingConfig

    cfg = RetrainingConfig.from_params({"drift_fdr": 0.01, "drift_min_effect_numeric": 0.2, "drift_share": 0.3})
    drift = cfg.drift_config()
    assert (drift.method, drift.fdr, drift.min_effect_numeric, drift.drift_share) == ("effect_size", 0.01, 0.2, 0.3)
    assert RetrainingConfig.from_params({"drift_method": "evidently"}).drift_config().method == "evidently"


@pytest.mark.parametrize("n, m, discrete", [(300, 200, False), (20_000, 15_000, False), (5000, 4000, True)])
def test_merged_ks_and_wasserstein_equal_scipy(n, m, discrete):
    rng = np.random.default_rng(n)
    a, b = rng.normal(0, 1, n), rng.normal(0.1, 1.2, m)
    if discrete:  # ties: KS must be read at the end of each run of equal values
        a, b = np.round(a * 3), np.round(b * 3)
    d, p, w = effect.ks_and_wasserstein(a, b)
    ks = stats.ks_2samp(a, b)
    assert d == pytest.approx(ks.statistic, abs=1e-12)
    assert w == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)
    assert p == pytest.approx(ks.pvalue, rel=0.05, abs=1e-12)  # asymptotic above 10k rows: within 5 %


def test_psi_from_sorted_samples_equals_evidently_binning():
    from include.drift import stattests

    rng = np.random.default_rng(11)
    a, b = rng.lognormal(1, 0.5, 5000), rng.lognormal(1.1, 0.5, 3000)
    expected = stattests.psi(pd.Series(a), pd.Series(b), numeric=True)
    assert effect.histogram_psi(np.sort(a), np.sort(b)) == pytest.approx(expected, rel=1e-9)
    ints_a, ints_b = rng.poisson(3, 5000).astype(float), rng.poisson(3.4, 3000).astype(float)
    assert effect.value_psi(np.sort(ints_a), np.sort(ints_b)) == pytest.approx(
        stattests.psi(pd.Series(ints_a), pd.Series(ints_b), numeric=True), rel=1e-9)
