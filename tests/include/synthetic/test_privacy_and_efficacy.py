"""Privacy (DCR, exact copies) and usefulness (TSTR/TRTR) on cases with a known answer."""

from __future__ import annotations

import pytest

from include.synthetic import efficacy, privacy


def test_copies_of_real_rows_have_no_protection(real_table, schema):
    copies = real_table.sample(200, random_state=1)
    assert privacy.exact_copy_rate(real_table, copies, schema) == 1.0
    result = privacy.dcr_baseline_protection(real_table, copies, schema, max_rows=200)
    assert result["dcr_baseline_protection"] == 0.0 and result["median_dcr_random"] > 0.1


def test_random_rows_are_fully_protected_and_not_copies(real_table, schema):
    noise = privacy.random_baseline(real_table, schema, 200, seed=3)
    assert privacy.exact_copy_rate(real_table, noise, schema) == 0.0
    assert privacy.dcr_baseline_protection(real_table, noise, schema, max_rows=200, seed=4)["dcr_baseline_protection"] > 0.9


def test_exact_copy_compares_numbers_by_value_not_dtype(real_table, schema):
    copy = real_table.head(10).copy()
    copy["age"] = copy["age"].astype("float64")  # 42 == 42.0
    assert privacy.exact_copy_rate(real_table, copy, schema) == 1.0


def test_overfitting_protection_flags_memorised_training_rows(real_table, schema):
    train, holdout = real_table.iloc[:600], real_table.iloc[600:]
    memorised = privacy.dcr_overfitting_protection(train, holdout, train.sample(200, random_state=0), schema)
    assert memorised["share_closer_to_train"] > 0.95 and memorised["dcr_overfitting_protection"] < 0.1
    fresh = privacy.dcr_overfitting_protection(train.iloc[:400], holdout, train.iloc[400:], schema)
    assert fresh["dcr_overfitting_protection"] > 0.7


def test_tstr_on_real_rows_equals_trtr_and_single_class_is_reported(real_table, schema):
    train, holdout = real_table.iloc[:600], real_table.iloc[600:]
    same = efficacy.ml_efficacy(train, holdout, train, schema, "churned", bootstrap=20)
    assert same["auc_tstr"] == pytest.approx(same["auc_trtr"]) and same["tstr_trtr_ratio"] == pytest.approx(1.0)
    one_class = train.assign(churned=0)
    degenerate = efficacy.ml_efficacy(train, holdout, one_class, schema, "churned", bootstrap=0)
    assert degenerate["synthetic_single_class"] and degenerate["auc_tstr"] == 0.5
