"""FOCUS 1.2 normalization and validation (GX expectations written from the spec)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from include.costs import focus
from include.costs.validation import FocusSchemaError, validate
from include.demo.costs import focus_rows


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return focus.normalize(focus_rows(date(2026, 11, 22), days=8, seed=7), "focus_files")


def test_normalized_demo_exports_pass_every_focus_rule(demo):
    assert list(demo.columns) == list(focus.TABLE_COLUMNS)
    outcome = validate(demo)
    assert outcome.success, [r for r in outcome.results if not r["success"]]
    assert len(outcome.valid) == len(demo) == 8 * 10
    assert outcome.quarantined.empty
    assert {r["expectation"] for r in outcome.results} >= {
        "expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
        "expect_column_pair_values_a_to_be_greater_than_b", "expect_column_values_to_be_json_parseable",
        "expect_compound_columns_to_be_unique", "expect_table_columns_to_match_set"}


def test_normalize_fills_what_the_spec_derives(demo):
    row = demo.iloc[0]
    assert row["BillingPeriodStart"] == pd.Timestamp("2026-11-01", tz="UTC")
    assert row["BillingPeriodEnd"] == pd.Timestamp("2026-12-01", tz="UTC")
    assert row["PublisherName"] == row["ProviderName"] == row["InvoiceIssuerName"]
    assert row["ContractedCost"] == row["BilledCost"]
    assert set(demo["ServiceCategory"]) <= set(focus.SERVICE_CATEGORIES)
    assert demo.loc[demo["ServiceName"] == "Amazon SageMaker", "ServiceCategory"].iloc[0] == "AI and Machine Learning"
    # Same input → same natural keys (the basis of idempotent loads).
    again = focus.normalize(focus_rows(date(2026, 11, 22), days=8, seed=7), "focus_files")
    assert again["x_RowKey"].tolist() == demo["x_RowKey"].tolist()


def test_rows_breaking_the_spec_are_quarantined_with_the_rule(demo):
    bad = demo.head(6).copy()
    bad.loc[0, "BillingCurrency"] = "usd"
    bad.loc[1, "ChargePeriodEnd"] = bad.loc[1, "ChargePeriodStart"] - pd.Timedelta(hours=1)
    bad.loc[2, "Tags"] = "team=ml"
    bad.loc[3, "ChargeCategory"] = "Discount"
    bad.loc[4, "BilledCost"] = float("nan")
    outcome = validate(bad)
    assert not outcome.success
    assert len(outcome.valid) == 1 and len(outcome.quarantined) == 5
    reasons = dict(zip(outcome.quarantined["x_RowKey"], outcome.quarantined["reason"], strict=True))
    assert "expect_column_values_to_match_regex(BillingCurrency)" in reasons[bad.loc[0, "x_RowKey"]]
    assert "ChargePeriodEnd>ChargePeriodStart" in reasons[bad.loc[1, "x_RowKey"]]
    assert "Tags" in reasons[bad.loc[2, "x_RowKey"]]
    assert "ChargeCategory" in reasons[bad.loc[3, "x_RowKey"]]
    assert "BilledCost" in reasons[bad.loc[4, "x_RowKey"]]


def test_custom_columns_must_carry_the_x_prefix(demo):
    with pytest.raises(FocusSchemaError, match="neither FOCUS"):
        validate(demo.assign(CostCenter="42"))


def test_duplicate_keys_are_summed_not_duplicated(demo):
    doubled = pd.concat([demo.head(3), demo.head(3)], ignore_index=True)
    merged = focus.aggregate_duplicates(doubled)
    assert len(merged) == 3
    assert merged["BilledCost"].tolist() == pytest.approx((demo.head(3)["BilledCost"] * 2).tolist())
