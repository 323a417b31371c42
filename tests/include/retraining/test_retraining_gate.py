"""Gate statistics, the fixed hold-out and row quarantine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from include.demo.customers import customer_table
from include.retraining import data, gate

RNG = np.random.default_rng(1)


def _labels_and_scores(n=600):
    y = RNG.integers(0, 2, n)
    good = np.clip(0.5 + (y - 0.5) * 0.5 + RNG.normal(0, 0.15, n), 0.01, 0.99)
    weak = np.clip(0.5 + (y - 0.5) * 0.15 + RNG.normal(0, 0.25, n), 0.01, 0.99)
    return y, good, weak


def test_metrics_match_sklearn():
    y, good, _ = _labels_and_scores()
    m = gate.metrics(y, good)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, good))
    assert m["log_loss"] == pytest.approx(log_loss(y, good))


@pytest.mark.parametrize("metric", ["log_loss", "brier", "roc_auc"])
def test_better_challenger_is_promoted_and_worse_is_not(metric):
    y, good, weak = _labels_and_scores()
    better = gate.decide(gate.paired_bootstrap(y, weak, good, metric=metric, n_bootstrap=500), 0.005)
    assert better.promote and better.comparison["ci_low"] > 0
    worse = gate.decide(gate.paired_bootstrap(y, good, weak, metric=metric, n_bootstrap=500), 0.005)
    assert not worse.promote
    assert any("below the required" in r for r in worse.reasons)
    assert any("does not exclude 0" in r for r in worse.reasons)


def test_identical_models_are_not_promoted():
    y, good, _ = _labels_and_scores()
    same = gate.decide(gate.paired_bootstrap(y, good, good, n_bootstrap=200), 0.0)
    assert not same.promote and same.comparison["improvement"] == 0


def test_small_gain_below_min_improvement_is_refused():
    y, good, _ = _labels_and_scores()
    slightly = np.clip(good + (y - 0.5) * 0.004, 0.01, 0.99)
    d = gate.decide(gate.paired_bootstrap(y, good, slightly, n_bootstrap=500), 0.05)
    assert not d.promote and "below the required 0.0500" in d.reasons[0]


def test_holdout_is_fixed_by_id_and_disjoint_from_training():
    ref, batch = customer_table(500, seed=1), customer_table(400, seed=2)
    a = data.training_split(ref, batch, 0.3)
    b = data.training_split(ref, batch.sample(frac=1.0, random_state=9), 0.3)
    assert set(a.holdout["customer_id"]) == set(b.holdout["customer_id"])
    assert 0.2 < len(a.holdout) / len(batch) < 0.4
    assert not set(a.holdout["customer_id"]) & set(a.train["customer_id"])


def test_bad_rows_are_quarantined_with_reasons():
    frame = customer_table(50, seed=3)
    frame.loc[0, "churned"] = 7
    frame.loc[1, "age"] = -4
    frame = pd.concat([frame, frame.iloc[[2]]], ignore_index=True)
    valid, rejected = data.split_valid_rows(frame)
    assert len(valid) == 48
    assert sorted(rejected["reason"]) == ["churned is not 0/1", "duplicate customer_id", "negative age"]
    with pytest.raises(ValueError, match="lacks columns"):
        data.check_columns(frame.drop(columns=["plan"]), "batch.parquet")
