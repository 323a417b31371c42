"""Decision rows in the warehouse: the audit trail and the stabilisation window's memory.

One row per monitor run (key ``run_id``), written when the decision is made (status ``decided``)
and rewritten with the action's outcome (``applied``, ``dry_run``, ``unchanged``, ``created``), so a
failed action still leaves its explained decision behind. The HPA's stabilisation window needs
past *raw recommendations*; they are read back from this table, so the window survives restarts.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from include.platform import warehouse
from include.scaling.policy import Decision, Recommendation

TABLE = "scaling_decisions"

COLUMNS: dict[str, str] = {
    "run_id": "object", "decided_at": "datetime64[us, UTC]", "action": "object", "target": "object",
    "current_replicas": "int64", "recommendation": "int64", "desired_replicas": "int64", "direction": "object",
    "driver": "object", "limited_by": "object", "queue_depth": "float64", "pending_objects": "float64",
    "queue_by_pool": "object", "gpu_utilization": "float64", "cpu_percent": "float64", "memory_percent": "float64",
    "cost_per_hour": "float64", "dry_run": "bool", "status": "object", "applied_replicas": "float64",
    "explanation": "object", "details": "object",
}


def history(action: str, target: str, since: datetime, exclude_run_id: str) -> list[Recommendation]:
    """Raw recommendations of earlier runs for the same action/target since ``since``."""
    if not warehouse.table_exists(TABLE):
        return []
    frame = warehouse.query(  # "?" everywhere: warehouse.query adapts it to the engine's own marker
        f"SELECT decided_at, recommendation FROM {TABLE} WHERE action = ? AND target = ? "
        "AND decided_at >= ? AND run_id <> ? ORDER BY decided_at",
        [action, target, since, exclude_run_id])
    return [Recommendation(pd.Timestamp(r.decided_at).to_pydatetime(), int(r.recommendation))
            for r in frame.itertuples(index=False)]


def window_start(now: datetime, stabilization_s: float) -> datetime:
    return now - timedelta(seconds=max(stabilization_s, 0))


def record(run_id: str, decision: Decision, metrics: dict[str, Any], action: str, target: str, dry_run: bool,
           status: str, applied_replicas: int | None = None, details: dict[str, Any] | None = None) -> int:
    row = {
        "run_id": run_id, "decided_at": pd.Timestamp(decision.timestamp).tz_convert("UTC")
        if pd.Timestamp(decision.timestamp).tzinfo else pd.Timestamp(decision.timestamp, tz="UTC"),
        "action": action, "target": target, "current_replicas": decision.current_replicas,
        "recommendation": decision.recommendation, "desired_replicas": decision.desired_replicas,
        "direction": decision.direction, "driver": decision.driver, "limited_by": ",".join(decision.limited_by),
        "queue_depth": metrics.get("queue_depth"), "pending_objects": metrics.get("pending_objects"),
        "queue_by_pool": json.dumps((metrics.get("queue") or {}).get("by_pool", {}), sort_keys=True),
        "gpu_utilization": metrics.get("gpu_util_mean"), "cpu_percent": metrics.get("cpu_percent"),
        "memory_percent": metrics.get("memory_percent"), "cost_per_hour": decision.cost_per_hour,
        "dry_run": bool(dry_run), "status": status, "applied_replicas": applied_replicas,
        "explanation": decision.explain(), "details": json.dumps(details or {}, sort_keys=True, default=str),
    }
    frame = pd.DataFrame([row])
    for col, dtype in COLUMNS.items():
        frame[col] = frame[col].astype(dtype)
    return warehouse.replace_rows(TABLE, frame[list(COLUMNS)], ["run_id"])


def decision_from_dict(data: dict[str, Any]) -> Decision:
    """Rebuild a Decision passed through XCom (proposals are kept as plain dicts)."""
    from include.scaling.policy import MetricProposal

    return Decision(
        timestamp=datetime.fromisoformat(data["timestamp"]),
        current_replicas=int(data["current_replicas"]), recommendation=int(data["recommendation"]),
        desired_replicas=int(data["desired_replicas"]), direction=data["direction"], driver=data["driver"],
        limited_by=list(data.get("limited_by", [])),
        proposals=[MetricProposal(**p) for p in data.get("proposals", [])],
        explanation=list(data.get("explanation", [])), cost_per_hour=float(data.get("cost_per_hour", 0.0)),
    )
