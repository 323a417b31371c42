"""The autoscaling monitor's steps (collect -> decide -> scale, plus GPU admission), one per DAG task.

Each takes the run's :class:`~include.scaling.config.MonitorConfig`, never the raw Params.

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
from datetime import datetime
from typing import TYPE_CHECKING, Any

from include.platform.airflow_api import AirflowAPIUnavailable
from include.scaling import decisions
from include.scaling.actions import action_for
from include.scaling.metrics import collect
from include.scaling.policy import Decision, Observation
from include.scaling.policy import decide as hpa_decide

if TYPE_CHECKING:
    from include.scaling.config import MonitorConfig

log = logging.getLogger(__name__)

SKIPPED = "skipped"


def _api(needed: bool = True) -> Any:
    from include.platform.airflow_api import AirflowAPI

    return AirflowAPI.from_settings() if needed else None


def collect_metrics(cfg: MonitorConfig, api: Any | None = None) -> dict[str, Any]:
    """Step 1: every metric (the config's pools and prefix were checked when it was built); XCom-safe."""
    metrics = collect(api if api is not None else _api(), list(cfg.queue_pools) or None, cfg.pending_prefix)
    metrics.pop("gpu_snapshot", None)
    return metrics


def current_replicas(cfg: MonitorConfig, api: Any) -> tuple[int, str | None]:
    """``(count, None)``, or ``(min_replicas, why)`` when the pool cannot be read without an API server."""
    try:
        return action_for(cfg.action).current(cfg, api), None
    except AirflowAPIUnavailable as exc:
        log.warning("current replicas not read: %s", exc)
        return cfg.min_replicas, f"current replicas not read, assumed min_replicas = {cfg.min_replicas}: {exc}"


def annotate(decision: Decision, metrics: Mapping[str, Any], current_note: str | None) -> Decision:
    """Put what was not measured, and why, into the decision's explanation (after the current count)."""
    notes = [f"{metric} not measured (ignored by the policy): {reason}"
             for metric, reason in (metrics.get("unavailable") or {}).items()]
    if current_note:
        notes.append(current_note)
    decision.explanation[1:1] = notes
    return decision


def decide(cfg: MonitorConfig, metrics: Mapping[str, Any], run_id: str, now: datetime,
           api: Any | None = None) -> dict[str, Any]:
    """Step 2: current count + the stabilisation window's history + metrics -> an explained, recorded decision."""
    action = action_for(cfg.action)
    target = action.target(cfg)
    current, current_note = current_replicas(cfg, api if api is not None else _api(action.uses_api))
    obs = Observation(timestamp=now, current_replicas=current, queue_depth=metrics["queue_depth"],
                      pending_objects=metrics["pending_objects"], gpu_utilization=metrics["gpu_util_mean"],
                      cpu_percent=metrics["cpu_percent"], memory_percent=metrics["memory_percent"])
    window = max(cfg.scale_down_stabilization_s, cfg.scale_up_stabilization_s)
    past = decisions.history(cfg.action, target, decisions.window_start(now, window), run_id)
    decision = annotate(hpa_decide(obs, cfg, past), metrics, current_note)
    log.info("Scaling decision for %s:%s\n  %s", cfg.action, target, "\n  ".join(decision.explanation))
    decisions.record(run_id, decision, metrics, cfg.action, target, cfg.dry_run, status="decided")
    return {**decision.to_dict(), "target": target}


def apply_decision(cfg: MonitorConfig, desired: int, api: Any) -> dict[str, Any]:
    """Apply with the chosen action; without an API server the pool action is skipped, with the reason."""
    action = action_for(cfg.action)
    try:
        return action.apply(cfg, desired, cfg.dry_run, api)
    except AirflowAPIUnavailable as exc:
        target = action.target(cfg)
        log.warning("Scaling action %s on %s skipped: %s", cfg.action, target, exc)
        return {"action": cfg.action, "target": target, "status": SKIPPED, "reason": str(exc),
                "before": None, "after": None, "dry_run": cfg.dry_run}


def applied_replicas(result: Mapping[str, Any], dry_run: bool) -> int | None:
    """What the row records as applied: nothing for a dry run or a skipped action."""
    if dry_run or result.get("status") == SKIPPED or result.get("after") is None:
        return None
    return int(result["after"])


def scale(cfg: MonitorConfig, decision: Mapping[str, Any], metrics: Mapping[str, Any], run_id: str,
          api: Any | None = None) -> dict[str, Any]:
    """Step 3: apply the decision and rewrite its row with the outcome (``applied``, ``dry_run``, ``skipped``...)."""
    action = action_for(cfg.action)
    result = apply_decision(cfg, int(decision["desired_replicas"]),
                            api if api is not None else _api(action.uses_api))
    details = {**result, "unavailable": metrics.get("unavailable") or {}}
    decisions.record(run_id, decisions.decision_from_dict(dict(decision)), dict(metrics), cfg.action,
                     decision["target"], cfg.dry_run, status=result["status"],
                     applied_replicas=applied_replicas(result, cfg.dry_run), details=details)
    return result


def admit_gpu(cfg: MonitorConfig, api: Any | None = None) -> dict[str, Any]:
    """Step 4: size the GPU pool from free GPU memory / per-task footprint (skipped without an API server)."""
    from include.gpu import admission

    return admission.admit(api if api is not None else _api(), cfg.gpu_pool, cfg.gpu_task_footprint_mib,
                           dry_run=cfg.dry_run)
