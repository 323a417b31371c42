"""The canary report names what was graded: accuracy for a classifier, quality-gate pass rate for a text generator."""

from __future__ import annotations

from include.canary.report import steps_table


def _step(check: str | None) -> dict:
    arm = {"n": 60, "errors": 0, "error_rate": 0.0, "p95_ms": 12.0, "labelled": 60, "accuracy": 0.9}
    checks = [{"check": "errors_vs_champion_ztest", "value": 0.5}]
    if check:
        checks.append({"check": check, "value": 0.25})
    return {"step": 1, "weight": 20, "attempt": 1, "status": "pass", "champion": arm, "challenger": arm,
            "checks": checks, "reasons": []}


def test_a_text_generator_is_reported_by_pass_rate():
    (row,) = steps_table([_step("quality_vs_champion_ztest")])
    assert row["champion_pass_rate"] == row["challenger_pass_rate"] == 0.9
    assert row["pass_rate_ztest_p"] == 0.25 and row["challenger_graded"] == 60
    assert not any("accuracy" in key for key in row)


def test_a_classifier_is_reported_by_accuracy():
    (row,) = steps_table([_step("accuracy_vs_champion_ztest")])
    assert row["champion_accuracy"] == 0.9 and row["accuracy_ztest_p"] == 0.25 and row["challenger_labelled"] == 60
    (unlabelled,) = steps_table([_step(None)])
    assert unlabelled["accuracy_ztest_p"] is None
