"""The autoscaling monitor's steps that depend on Airflow's REST API, with their degraded paths.

``make run DAG=autoscaling_monitor`` (``airflow dags test``) needs no scheduler and often has no
API server either. The monitor must still measure what it can, decide and record — so a missing
API is not an error here: the queue-depth metric is marked unavailable (the policy ignores a
``None`` metric), the current count falls back to ``min_replicas``, and the pool action is
*skipped*, recorded as such with the reason (``run `make start```) in ``scaling_decisions``.
Credentials the API refuses stay a permanent failure (:class:`~include.platform.errors.PermanentError`):
that is a configuration to fix, not a server to wait for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from include.platform.airflow_api import AirflowAPIUnavailable
from include.scaling import actions, guards
from include.scaling.metrics import collect
from include.scaling.policy import Decision

log = logging.getLogger(__name__)

SKIPPED = "skipped"


def collect_metrics(params: Mapping[str, Any], api: Any) -> dict[str, Any]:
    """Check the Params (ConfigError before any I/O), then every metric; XCom-safe."""
    targets = guards.check_params(params)
    metrics = collect(api, list(targets.queue_pools) or None, targets.pending_prefix)
    metrics.pop("gpu_snapshot", None)
    return metrics


def current_replicas(params: Mapping[str, Any], api: Any) -> tuple[int, str | None]:
    """``(count, None)``, or ``(min_replicas, why)`` when the pool cannot be read without an API server."""
    try:
        return actions.current_replicas(dict(params), api), None
    except AirflowAPIUnavailable as exc:
        assumed = int(params["min_replicas"])
        log.warning("current replicas not read: %s", exc)
        return assumed, f"current replicas not read, assumed min_replicas = {assumed}: {exc}"


def annotate(decision: Decision, metrics: Mapping[str, Any], current_note: str | None) -> Decision:
    """Put what was not measured, and why, into the decision's explanation (after the current count)."""
    notes = [f"{metric} not measured (ignored by the policy): {reason}"
             for metric, reason in (metrics.get("unavailable") or {}).items()]
    if current_note:
        notes.append(current_note)
    decision.explanation[1:1] = notes
    return decision


def apply_decision(params: Mapping[str, Any], desired: int, dry_run: bool, api: Any) -> dict[str, Any]:
    """Apply with the chosen action; without an API server the pool action is skipped, with the reason."""
    try:
        return actions.apply(dict(params), desired, dry_run, api)
    except AirflowAPIUnavailable as exc:
        target = actions.target_name(dict(params))
        log.warning("Scaling action %s on %s skipped: %s", params["action"], target, exc)
        return {"action": params["action"], "target": target, "status": SKIPPED, "reason": str(exc),
                "before": None, "after": None, "dry_run": dry_run}


def applied_replicas(result: Mapping[str, Any], dry_run: bool) -> int | None:
    """What the row records as applied: nothing for a dry run or a skipped action."""
    if dry_run or result.get("status") == SKIPPED or result.get("after") is None:
        return None
    return int(result["after"])
