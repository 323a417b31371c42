"""Step analysis: thresholds, the two-proportion z-test and Mann-Whitney U, no-data fails safe."""

from __future__ import annotations

import numpy as np
import pytest

from include.canary.analysis import Sample, evaluate_step, mann_whitney_greater, two_proportion_ztest
from include.canary.policy import CanaryPolicy

POLICY = CanaryPolicy(min_requests=50)


def _sample(n: int, error_rate: float, latency_ms: float, seed: int, jitter: float = 0.3) -> Sample:
    rng = np.random.default_rng(seed)
    lat = latency_ms * rng.lognormal(0, jitter, n)
    errors = int(round(n * error_rate))
    return Sample(n=n, errors=errors, latencies_ms=lat.tolist())


def _failed(verdict) -> set[str]:
    return {c["check"] for c in verdict["checks"] if c["passed"] is False}


def test_ztest_matches_the_textbook_value():
    # 20/200 vs 10/200: pooled p = 0.075, se = 0.02634, z = 1.898, one-sided p = 0.0288.
    z, p = two_proportion_ztest(20, 200, 10, 200)
    assert z == pytest.approx(1.898, abs=1e-3) and p == pytest.approx(0.0288, abs=1e-3)
    assert two_proportion_ztest(0, 100, 0, 900) == (0.0, 1.0)


def test_mann_whitney_is_one_sided():
    slow, fast = [10.0 + i % 5 for i in range(50)], [5.0 + i % 5 for i in range(50)]
    assert mann_whitney_greater(slow, fast)[1] < 1e-6
    assert mann_whitney_greater(fast, slow)[1] > 0.99


def test_healthy_challenger_passes():
    verdict = evaluate_step(POLICY, 10, _sample(900, 0.0, 5, 1), _sample(100, 0.0, 5, 2))
    assert verdict["status"] == "pass", verdict["reasons"]
    assert verdict["compared_with"] == "same window"


def test_twenty_percent_errors_fail_on_threshold_and_ztest():
    verdict = evaluate_step(POLICY, 10, _sample(900, 0.0, 5, 1), _sample(100, 0.2, 5, 2))
    assert verdict["status"] == "fail"
    assert {"error_rate", "errors_vs_champion_ztest"} <= _failed(verdict)


def test_errors_a_bit_above_champion_but_under_ceiling_pass_when_not_significant():
    verdict = evaluate_step(POLICY, 10, _sample(900, 0.01, 5, 1), _sample(100, 0.02, 5, 2))
    assert verdict["status"] == "pass", verdict["reasons"]


def test_slow_challenger_fails_on_latency_vs_champion():
    verdict = evaluate_step(POLICY, 10, _sample(900, 0.0, 5, 1), _sample(100, 0.0, 120, 2))
    assert _failed(verdict) == {"p95_vs_champion"}


def test_small_but_significant_latency_difference_does_not_fail():
    # 1 ms slower on a 3 ms model: significant with thousands of requests, irrelevant to users.
    verdict = evaluate_step(POLICY, 50, _sample(3000, 0.0, 3, 1, 0.1), _sample(3000, 0.0, 4, 2, 0.1))
    mw = next(c for c in verdict["checks"] if c["check"] == "latency_vs_champion_mannwhitney")
    assert mw["value"] < 0.01 and verdict["status"] == "pass"


def test_absolute_p95_ceiling_applies_even_when_champion_is_as_slow():
    verdict = evaluate_step(POLICY, 10, _sample(900, 0.0, 600, 1), _sample(100, 0.0, 600, 2))
    assert "p95_latency_ms" in _failed(verdict)


def test_no_data_is_inconclusive_not_pass():
    verdict = evaluate_step(POLICY, 10, _sample(900, 0.0, 5, 1), _sample(10, 0.0, 5, 2))
    assert verdict["status"] == "inconclusive"
    assert _failed(verdict) == {"min_requests_challenger"}
    empty = evaluate_step(POLICY, 10, Sample(0, 0, []), Sample(0, 0, []))
    assert empty["status"] == "inconclusive"


def test_full_traffic_step_compares_with_previous_champion_window():
    baseline = _sample(500, 0.0, 5, 1)
    verdict = evaluate_step(POLICY, 100, Sample(0, 0, []), _sample(200, 0.0, 120, 2), baseline=baseline)
    assert verdict["compared_with"] == "previous window" and "p95_vs_champion" in _failed(verdict)
    assert evaluate_step(POLICY, 100, Sample(0, 0, []), _sample(200, 0.0, 5, 3), baseline=baseline)["status"] == "pass"


def test_aggregated_metrics_skip_mann_whitney_but_keep_thresholds():
    champion = Sample(n=900, errors=2, latencies_ms=None, p95_ms=40.0)
    verdict = evaluate_step(POLICY, 10, champion, Sample(n=100, errors=1, latencies_ms=None, p95_ms=45.0))
    mw = next(c for c in verdict["checks"] if c["check"] == "latency_vs_champion_mannwhitney")
    assert mw["passed"] is None and "skipped" in mw["detail"] and verdict["status"] == "pass"
    slow = evaluate_step(POLICY, 10, champion, Sample(n=100, errors=1, latencies_ms=None, p95_ms=200.0))
    assert "p95_vs_champion" in _failed(slow)
