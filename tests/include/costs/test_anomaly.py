"""Seasonal robust-z anomaly detection names the service that drove a change."""

from __future__ import annotations

from datetime import date

import pytest

from include.costs import anomaly
from include.costs.focus import normalize
from include.demo.costs import focus_rows

DAY = date(2026, 11, 22)


def _daily(spike_service: str = "Amazon SageMaker", spike_factor: float = 4.0):
    rows = normalize(focus_rows(DAY, days=35, seed=42, spike_service=spike_service, spike_factor=spike_factor),
                     "focus_files")
    return anomaly.daily_by_service(rows)


def test_spike_is_detected_and_its_service_named():
    result = anomaly.detect(_daily(), DAY)
    assert result.is_anomaly
    assert result.z > 3.5
    assert result.baseline_days == ["2026-11-15", "2026-11-08", "2026-11-01", "2026-10-25"]
    assert (result.driver.provider, result.driver.service) == ("AWS", "Amazon SageMaker")
    assert result.driver.share_of_change > 0.5
    assert [f.service for f in result.services] == ["Amazon SageMaker"]
    text = anomaly.describe(result)
    assert "Amazon SageMaker" in text and "same-weekday median" in text


def test_a_spike_on_another_service_names_that_service():
    result = anomaly.detect(_daily(spike_service="Vertex AI", spike_factor=5.0), DAY)
    assert result.is_anomaly and result.driver.service == "Vertex AI"


@pytest.mark.parametrize("day", [date(2026, 11, 21), date(2026, 11, 20), date(2026, 11, 19)])
def test_ordinary_days_are_not_anomalous(day):
    result = anomaly.detect(_daily(), day)
    assert not result.is_anomaly, anomaly.describe(result)


def test_too_little_history_says_so():
    daily = _daily()
    recent = daily[daily["day"] >= date(2026, 11, 12)]
    result = anomaly.detect(recent, DAY)
    assert not result.is_anomaly and "baseline" in result.note


def test_robust_z_ignores_one_earlier_outlier():
    import numpy as np

    z, median = anomaly.robust_z(100.0, np.array([100.0, 102.0, 98.0, 900.0]))
    assert median == 101.0 and abs(z) < 1


def test_budget():
    assert anomaly.budget_breached(1000.01, 1000) and not anomaly.budget_breached(999.0, 1000)
