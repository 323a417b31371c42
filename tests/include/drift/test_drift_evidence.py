"""Minimum evidence for a drift verdict: pure counts in, problems and a fix out."""

from __future__ import annotations

import pandas as pd
import pytest

from include.demo.customers import customer_table
from include.drift import detect, evidence

RULES = evidence.EvidenceRules(min_batch_rows=200, max_quarantined_share=0.2)


def test_enough_valid_rows_and_few_rejects_is_sufficient():
    verdict = evidence.assess(valid_rows=600, quarantined_rows=20, reference_rows=1200, rules=RULES)
    assert verdict.sufficient and verdict.problems == []
    assert verdict.quarantined_share == pytest.approx(20 / 620)
    assert verdict.to_dict()["sufficient"] is True and verdict.to_dict()["min_batch_rows"] == 200


@pytest.mark.parametrize(("valid", "rejected", "expected"), [
    (0, 0, ["the batch is empty", "0 valid rows < min_batch_rows 200"]),
    (3, 0, ["3 valid rows < min_batch_rows 200"]),
    (0, 300, ["all 300 rows of the batch were quarantined", "0 valid rows < min_batch_rows 200",
              "300 of 300 rows quarantined (100% > max_quarantined_share 20%)"]),
    (500, 200, ["200 of 700 rows quarantined (29% > max_quarantined_share 20%)"]),
])
def test_too_little_evidence_names_every_problem(valid, rejected, expected):
    verdict = evidence.assess(valid, rejected, 1200, RULES)
    assert not verdict.sufficient
    assert verdict.problems == expected


def test_boundaries_are_inclusive_of_the_thresholds():
    assert evidence.assess(200, 50, 1200, RULES).sufficient          # exactly 200 rows, exactly 20 %
    assert not evidence.assess(199, 0, 1200, RULES).sufficient
    assert not evidence.assess(200, 51, 1200, RULES).sufficient       # 20.3 %


def test_a_tiny_reference_is_not_evidence_either():
    verdict = evidence.assess(600, 0, 50, RULES)
    assert verdict.problems == ["reference set has 50 rows < min_batch_rows 200"]


def test_the_fix_points_at_the_cause():
    rejected = evidence.assess(0, 300, 1200, RULES).fix("quarantine/x/feature_batch.jsonl")
    assert "correct the rejected rows (reasons in quarantine/x/feature_batch.jsonl)" in rejected
    assert "raise Param max_quarantined_share" in rejected
    small = evidence.assess(3, 0, 1200, RULES).fix()
    assert "at least 200 valid rows" in small and "max_quarantined_share" not in small
    assert 'insufficient_evidence="alert"' in small


def test_invalid_rules_and_counts_are_refused():
    with pytest.raises(ValueError, match="min_batch_rows"):
        evidence.EvidenceRules(min_batch_rows=0)
    with pytest.raises(ValueError, match="max_quarantined_share"):
        evidence.EvidenceRules(max_quarantined_share=1.5)
    with pytest.raises(ValueError, match="negative"):
        evidence.assess(-1, 0, 10)


def test_drift_detection_refuses_an_empty_batch_instead_of_saying_no_drift():
    reference = customer_table(300, seed=1)
    with pytest.raises(detect.InsufficientData, match="current batch has no rows"):
        detect.detect_drift(reference, reference.iloc[0:0], exclude=["customer_id"], target="churned")
    with pytest.raises(detect.InsufficientData, match="reference has no rows"):
        detect.detect_drift(pd.DataFrame(columns=reference.columns), reference, exclude=["customer_id"])
