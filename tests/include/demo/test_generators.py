from __future__ import annotations

import json
from datetime import date

from include.demo import costs, customers, feedback


def test_feedback_is_reproducible_and_has_every_kind_of_mess():
    day = date(2026, 11, 22)
    lines = feedback.feedback_lines(day, 2_000, seed=1, malformed_share=0.05)
    assert lines == feedback.feedback_lines(day, 2_000, seed=1, malformed_share=0.05)
    parsed, broken = [], 0
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            broken += 1
    assert broken > 0
    assert any("text" not in r for r in parsed)
    assert any(r.get("rating") in (0, 7, 11) for r in parsed)
    assert any("<p>" in r.get("text", "") for r in parsed)
    assert any(len(r.get("text", "")) > 2_000 for r in parsed)


def test_customer_table_shape_and_drift():
    ref = customers.customer_table(3_000, seed=3)
    drifted = customers.customer_table(3_000, seed=3, drift=0.8)
    assert ref.shape == (3_000, 12)
    assert drifted["age"].mean() < ref["age"].mean() - 4
    assert (drifted["signup_channel"] == "mobile").mean() > (ref["signup_channel"] == "mobile").mean() + 0.2
    assert 0.02 < ref["churned"].mean() < 0.6


def test_focus_rows_contain_the_spike():
    end = date(2026, 11, 22)
    frame = costs.focus_rows(end, days=10, seed=1)
    daily = frame[frame["ServiceName"] == "Amazon SageMaker"].set_index("ChargePeriodStart")["BilledCost"]
    assert daily.iloc[-1] > 2.5 * daily.iloc[:-1].median()
    assert {"BilledCost", "EffectiveCost", "ChargePeriodStart", "ChargePeriodEnd", "ServiceName",
            "RegionId", "SubAccountId", "Tags"} <= set(frame.columns)


def test_demo_data_honours_the_domain_contracts():
    """The generators produce what the pipelines declare: the churn features and the sentiment labels."""
    from include.retraining.features import CATEGORICAL, NUMERIC, TARGET
    from include.sentiment import LABELS

    table = customers.customer_table(500, seed=4)
    assert set(NUMERIC) | set(CATEGORICAL) | {TARGET} <= set(table.columns)
    assert set(table[TARGET].unique()) <= {0, 1}
    examples = feedback.labeled_examples(30, seed=4)
    assert {label for _, label in examples} == set(LABELS)
    assert examples == feedback.labeled_examples(30, seed=4)
