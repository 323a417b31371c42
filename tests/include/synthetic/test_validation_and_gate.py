"""GX suite derived from the real table, readable failures, and the gate's decision."""

from __future__ import annotations

import pytest

from include.synthetic.config import SyntheticConfig
from include.synthetic.gate import decide
from include.synthetic.validation import validate

DEFAULTS = SyntheticConfig().thresholds
GOOD = {"overall_quality": 0.9, "dcr_baseline_protection": 0.3, "holdout_dcr_baseline_protection": 0.32, "dcr_overfitting_protection": 0.95,
        "exact_copy_rate": 0.0, "tstr_trtr_ratio": 0.97}


def test_real_table_passes_its_own_suite(real_table, schema):
    outcome = validate(real_table, schema, expected_rows=len(real_table))
    assert outcome["success"], outcome["failures"]
    assert outcome["statistics"]["evaluated_expectations"] > 25
    assert outcome["result"]["success"] is True and outcome["suite"]["name"] == "synthetic_matches_real_table"


def test_corrupted_synthetic_column_fails_with_a_readable_message(trained, schema):
    sample = trained.sample(300, seed=1)
    sample.insert(0, "customer_id", [f"syn-{i}" for i in range(len(sample))])
    sample.loc[:29, "age"] = -7  # impossible ages in 10 % of rows
    sample.loc[:4, "plan"] = "platinum"  # a plan that does not exist
    outcome = validate(sample, schema)
    assert not outcome["success"]
    age = next(f for f in outcome["failures"] if "'age'" in f)
    assert "expect_column_values_to_be_between" in age and "30 of 300 rows (10.0%)" in age and "-7" in age
    assert "min_value=" in age
    plan = next(f for f in outcome["failures"] if "'plan'" in f)
    assert "platinum" in plan and "value_set=" in plan


def test_missing_column_and_too_many_nulls_fail(trained, schema):
    sample = trained.sample(200, seed=2)  # no customer_id column
    sample["income"] = None
    failures = " | ".join(validate(sample, schema)["failures"])
    assert "expect_table_columns_to_match_set" in failures
    assert "expect_column_values_to_not_be_null failed on column 'income'" in failures


def test_gate_publishes_when_every_check_passes():
    decision = decide(GOOD, {"success": True}, DEFAULTS)
    assert decision["publish"] and decision["failed"] == [] and len(decision["checks"]) == 6


def test_gate_rejects_with_one_reason_per_failed_check():
    metrics = GOOD | {"overall_quality": 0.7, "exact_copy_rate": 0.2}
    decision = decide(metrics, {"success": False, "failures": ["age out of range"]}, DEFAULTS)
    assert not decision["publish"]
    assert decision["failed"] == ["gx_validation", "overall_quality", "exact_copy_rate"]
    assert "age out of range" in decision["reasons"][0]
    assert "0.7000 is below the threshold 0.8000" in decision["reasons"][1]


def test_dcr_threshold_is_relative_to_real_holdout_rows():
    decision = decide(GOOD | {"dcr_baseline_protection": 0.2}, {"success": True}, DEFAULTS)
    check = next(c for c in decision["checks"] if c["name"] == "dcr_baseline_protection")
    assert check["threshold"] == pytest.approx(0.8 * 0.32) and not check["passed"]
    assert "hold-out score 0.3200" in check["reason"]


def test_thresholds_come_from_params():
    t = SyntheticConfig.from_params({"min_quality": 0.95, "max_exact_copy_rate": 0, "epochs": 5}).thresholds
    assert t.min_quality == 0.95 and t.max_exact_copy_rate == 0.0 and t.min_tstr_ratio == pytest.approx(0.8)


def test_row_problems_name_the_rule_each_row_breaks(real_table, schema):
    from include.synthetic.validation import row_problems

    rows = real_table.head(4).copy()
    rows.loc[rows.index[1], "age"] = 200
    rows.loc[rows.index[2], "region"] = "atlantis"
    rows.loc[rows.index[3], "customer_id"] = None
    problems = row_problems(rows, schema)
    age = schema.column("age")
    assert problems[0] == ""
    assert problems[1] == f"age 200 outside the real range [{age.minimum:g}, {age.maximum:g}]"
    assert problems[2] == "region 'atlantis' is not a category of the real table"
    assert problems[3] == "customer_id is missing"
