"""Budget check and seasonal robust-z anomaly detection that names the service driving a change.

Why this method: cloud spend is weekly-seasonal (batch jobs on weekdays, quiet weekends) and
heavy-tailed (one spike must not hide the next). So a day is compared with the *same weekday* of
the previous ``weeks`` weeks, using the median and the MAD (median absolute deviation) instead of
mean and standard deviation: ``z = (x - median) / (1.4826 · MAD)`` (Iglewicz & Hoaglin's modified
z-score; |z| > 3.5 is their outlier rule). With four baseline points the MAD can be tiny by chance,
so the scale is floored at ``min_rel_scale`` of the median (default 5 %): a change must be at
least ``threshold × 5 %`` of normal to alert. Unlike the native detectors (AWS Cost Anomaly
Detection, Azure InsightAlert) this works on every provider at once, offline, and explains itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

MAD_TO_SIGMA = 1.4826


@dataclass
class Finding:
    provider: str
    service: str
    cost: float
    baseline: float
    delta: float
    z: float
    share_of_change: float = 0.0


@dataclass
class AnomalyResult:
    day: str
    total: float
    baseline: float | None
    z: float | None
    is_anomaly: bool
    baseline_days: list[str] = field(default_factory=list)
    driver: Finding | None = None
    services: list[Finding] = field(default_factory=list)  # anomalous services, largest impact first
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def robust_z(value: float, history: np.ndarray, min_rel_scale: float = 0.05) -> tuple[float, float]:
    """(z, median) of ``value`` against ``history`` with the MAD scale floored (see module doc)."""
    median = float(np.median(history))
    mad = float(np.median(np.abs(history - median)))
    scale = max(MAD_TO_SIGMA * mad, min_rel_scale * abs(median), 0.01)
    return (value - median) / scale, median


def baseline_days(day: date, weeks: int, first_day: date) -> list[date]:
    """Same weekday in each of the previous ``weeks`` weeks, only those the data covers."""
    return [d for d in (day - timedelta(weeks=w) for w in range(1, weeks + 1)) if d >= first_day]


def daily_by_service(frame: pd.DataFrame, metric: str = "BilledCost") -> pd.DataFrame:
    """Sum ``metric`` per day × provider × service (a ``day`` column of python dates)."""
    if frame.empty:
        return pd.DataFrame(columns=["day", "ProviderName", "ServiceName", "cost"])
    day = pd.to_datetime(frame["ChargePeriodStart"], utc=True).dt.date
    return (frame.assign(day=day, cost=frame[metric].astype(float))
            .groupby(["day", "ProviderName", "ServiceName"], as_index=False)["cost"].sum())


def detect(daily: pd.DataFrame, day: date, weeks: int = 4, threshold: float = 3.5,
           min_rel_scale: float = 0.05, min_impact: float = 100.0) -> AnomalyResult:
    """Is ``day``'s total anomalous, and which services drove it?

    A service is reported when |z| ≥ ``threshold`` *and* its change is at least ``min_impact``
    dollars (small services are noisy in relative terms and cheap in absolute ones). The driver is
    the service whose change is largest in the direction of the total's change.
    """
    if daily.empty:
        return AnomalyResult(day.isoformat(), 0.0, None, None, False, note="no cost rows")
    first = min(daily["day"])
    base_days = baseline_days(day, weeks, first)
    totals = daily.groupby("day")["cost"].sum()
    total = float(totals.get(day, 0.0))
    result = AnomalyResult(day.isoformat(), round(total, 2), None, None, False,
                           baseline_days=[d.isoformat() for d in base_days])
    if len(base_days) < 2:
        result.note = f"need at least 2 same-weekday baseline days, have {len(base_days)}"
        return result
    z_total, base_total = robust_z(total, np.array([totals.get(d, 0.0) for d in base_days]), min_rel_scale)
    result.baseline, result.z = round(base_total, 2), round(z_total, 2)

    per = daily.pivot_table(index=["ProviderName", "ServiceName"], columns="day", values="cost",
                            aggfunc="sum", fill_value=0.0)
    findings = []
    for (provider, service), row in per.iterrows():
        value = float(row.get(day, 0.0))
        z, median = robust_z(value, np.array([float(row.get(d, 0.0)) for d in base_days]), min_rel_scale)
        findings.append(Finding(provider, service, round(value, 2), round(median, 2), round(value - median, 2),
                                round(z, 2)))
    change = total - base_total
    for f in findings:
        f.share_of_change = round(f.delta / change, 3) if abs(change) > 1e-9 else 0.0
    sign = 1.0 if change >= 0 else -1.0
    result.driver = max(findings, key=lambda f: sign * f.delta) if findings else None
    result.services = sorted((f for f in findings if abs(f.z) >= threshold and abs(f.delta) >= min_impact),
                             key=lambda f: -abs(f.delta))
    result.is_anomaly = abs(z_total) >= threshold or bool(result.services)
    if result.services and (abs(z_total) < threshold):
        result.driver = result.services[0]
    return result


def describe(result: AnomalyResult) -> str:
    """One paragraph a human can act on: what moved, by how much, compared with what."""
    if result.driver is None or result.baseline is None:
        return f"{result.day}: total ${result.total:,.2f}; no baseline ({result.note})"
    d = result.driver
    lines = [
        f"Total cost on {result.day}: ${result.total:,.2f} vs ${result.baseline:,.2f} same-weekday median "
        f"({', '.join(result.baseline_days)}), robust z = {result.z:+.1f}.",
        f"Driver: {d.service} ({d.provider}) ${d.cost:,.2f} vs ${d.baseline:,.2f} median "
        f"({d.delta:+,.2f} USD, z = {d.z:+.1f}, {d.share_of_change:.0%} of the change).",
    ]
    for f in result.services[1:5]:
        lines.append(f"Also anomalous: {f.service} ({f.provider}) {f.delta:+,.2f} USD, z = {f.z:+.1f}.")
    return "\n".join(lines)


def budget_breached(total: float, budget: float) -> bool:
    return total > budget
