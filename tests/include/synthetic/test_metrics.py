"""SDMetrics definitions, checked against values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.synthetic import metrics
from include.synthetic.schema import ColumnSpec, infer_schema


def test_tv_complement_matches_hand_computed_value():
    real = pd.Series(["a"] * 5 + ["b"] * 5)
    synth = pd.Series(["a"] * 8 + ["c"] * 2)
    # frequencies a .5/.8, b .5/0, c 0/.2 -> TVD = (.3 + .5 + .2) / 2 = .5
    assert metrics.tv_complement(real, synth) == pytest.approx(0.5)
    assert metrics.tv_complement(real, real) == pytest.approx(1.0)


def test_ks_complement_is_one_minus_ks_statistic():
    real = pd.Series([1.0, 2.0, 3.0, 4.0])
    assert metrics.ks_complement(real, real) == pytest.approx(1.0)
    assert metrics.ks_complement(real, pd.Series([10.0, 11.0])) == pytest.approx(0.0)
    assert metrics.ks_complement(real, pd.Series([3.0, 4.0, np.nan])) == pytest.approx(0.5)  # NaN ignored


def test_correlation_similarity_uses_half_the_absolute_difference():
    x = np.arange(50.0)
    real = pd.DataFrame({"a": x, "b": x})  # r = 1
    synth = pd.DataFrame({"a": x, "b": -x})  # r = -1
    assert metrics.correlation_similarity(real, synth, "a", "b") == pytest.approx(0.0)
    assert metrics.correlation_similarity(real, real, "a", "b") == pytest.approx(1.0)


def test_contingency_similarity_of_categorical_pair():
    real = pd.DataFrame({"p": ["x", "x", "y", "y"], "q": ["u", "v", "u", "v"]})
    synth = pd.DataFrame({"p": ["x", "x", "x", "x"], "q": ["u", "v", "u", "v"]})
    p, q = ColumnSpec("p", "categorical", "str", categories=["x", "y"]), ColumnSpec("q", "categorical", "str")
    # real cells .25 each; synthetic (x,u) .5 (x,v) .5 -> TVD = (.25 + .25 + .25 + .25) / 2 = .5
    assert metrics.contingency_similarity(real, synth, p, q) == pytest.approx(0.5)


def test_quality_report_of_a_table_against_itself_is_perfect(real_table, schema):
    report = metrics.quality_report(real_table, real_table, schema)
    assert report["overall_quality"] == pytest.approx(1.0)
    n = len(schema.columns)
    assert len(report["column_shape_details"]) == n and len(report["column_pair_details"]) == n * (n - 1) // 2


def test_quality_drops_for_shuffled_columns(real_table, schema):
    rng = np.random.default_rng(0)
    shuffled = real_table.apply(lambda c: c.sample(frac=1, random_state=int(rng.integers(1e6))).to_numpy())
    report = metrics.quality_report(real_table, shuffled, schema)
    assert report["column_shapes"] == pytest.approx(1.0)  # marginals untouched
    assert report["column_pair_trends"] < 0.97  # dependencies destroyed (plan/spend, satisfaction/churn...)


def test_schema_treats_low_cardinality_integers_as_categories(real_table):
    schema = infer_schema(real_table, id_columns=["customer_id"])
    assert schema.column("satisfaction").kind == "categorical"
    assert schema.column("age").kind == "continuous" and schema.column("income").decimals == 2
    assert "customer_id" not in schema.names
