"""Read a bake window's request, error and p95-latency figures per model from CloudWatch.

SageMaker variants and ALB target groups publish the same three kinds of metric; only names,
dimensions and latency units differ, so both AWS backends share this one ``get_metric_data`` call.
CloudWatch gives aggregates, not raw latencies: the analysis then skips Mann-Whitney and judges
latency on the p95 thresholds (see include/canary/analysis.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from include.canary.analysis import Sample

log = logging.getLogger(__name__)


def now_marker() -> str:
    return datetime.now(UTC).isoformat()


def _q(qid: str, namespace: str, metric: str, dims: dict[str, str], stat: str, period: int) -> dict[str, Any]:
    return {"Id": qid, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": metric,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
        "Period": period, "Stat": stat}}


def metric_queries(namespace: str, dims_by_model: dict[str, dict[str, str]], *, count_metric: str,
                   error_metric: str, latency_metric: str, period: int = 60) -> list[dict[str, Any]]:
    """The ``MetricDataQueries`` for both models (pure: tested without AWS)."""
    queries = []
    for model, dims in dims_by_model.items():
        queries += [_q(f"{model}_count", namespace, count_metric, dims, "Sum", period),
                    _q(f"{model}_errors", namespace, error_metric, dims, "Sum", period),
                    _q(f"{model}_p95", namespace, latency_metric, dims, "p95", period)]
    return queries


def window_samples(cloudwatch: Any, queries: list[dict[str, Any]], start_iso: str, *,
                   latency_to_ms: float, end: datetime | None = None) -> tuple[Sample, Sample, str]:
    from botocore.exceptions import ClientError

    end = end or datetime.now(UTC)
    start = datetime.fromisoformat(start_iso)
    # Ask for whole periods: the period holding "now" is still filling, and a period that ends after
    # EndTime is dropped (CloudWatch buckets from StartTime), which would lose the latest requests.
    period = max(q["MetricStat"]["Period"] for q in queries)
    whole = -(-(end - start).total_seconds() // period) * period
    query_end = start + timedelta(seconds=max(whole, period))

    def fetch(qs: list[dict[str, Any]]) -> dict[str, list[float]]:
        resp = cloudwatch.get_metric_data(MetricDataQueries=qs, StartTime=start, EndTime=query_end,
                                          ScanBy="TimestampAscending")
        return {r["Id"]: r.get("Values", []) for r in resp["MetricDataResults"]}

    sums = [q for q in queries if q["MetricStat"]["Stat"] != "p95"]
    percentiles = [q for q in queries if q["MetricStat"]["Stat"] == "p95"]
    values = fetch(sums)
    try:
        values |= fetch(percentiles)
    except ClientError as exc:
        # Percentiles are a CloudWatch feature some sources lack (moto answers 500). Fall back to the
        # period Maximum: never below the p95, so the latency checks can only get stricter (fail safe).
        log.warning("p95 latency unavailable (%s); judging latency on the period maximum instead", exc)
        for q in percentiles:
            q["MetricStat"] = q["MetricStat"] | {"Stat": "Maximum"}
        values |= fetch(percentiles)

    def sample(model: str) -> Sample:
        p95s = values.get(f"{model}_p95") or []
        # Across periods, the worst period's p95 is the conservative summary of the window.
        return Sample(n=int(sum(values.get(f"{model}_count", []))), errors=int(sum(values.get(f"{model}_errors", []))),
                      latencies_ms=None, p95_ms=max(p95s) * latency_to_ms if p95s else None)

    return sample("champion"), sample("challenger"), end.isoformat()
