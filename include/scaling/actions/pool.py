"""The embedded default action: resize an Airflow pool through the REST API.

A pool's slots are the number of tasks of that pool that may run at once, so resizing it is the
Airflow-native way to scale a worker class without a cluster: the effect is visible at once in the
UI (Admin -> Pools) and in the scheduler's behaviour. ``PATCH /api/v2/pools/{name}`` with
``update_mask=slots`` changes nothing else; a missing pool is created (``POST /api/v2/pools``).

Only pools :func:`include.scaling.guards.resizable_pool` allows are touched (never ``default_pool``),
and the name is percent-encoded into the path (:func:`~include.platform.airflow_api.api_path`).
"""

from __future__ import annotations

import logging
from typing import Any

from include.platform.airflow_api import AirflowAPIError, api_path
from include.scaling import guards

log = logging.getLogger(__name__)


def get_pool(api: Any, name: str) -> dict[str, Any] | None:
    try:
        return api.get(api_path("pools", name))
    except AirflowAPIError as exc:
        if exc.status_code == 404:
            return None
        raise


def current(api: Any, name: str, default: int = 1) -> int:
    pool = get_pool(api, name)
    return int(pool["slots"]) if pool else default


def resize_pool(api: Any, name: str, slots: int, dry_run: bool = False, description: str = "") -> dict[str, Any]:
    """Set ``name`` to ``slots`` (creating it when missing); returns before/after and what was done."""
    name = guards.resizable_pool(name, "pool")
    if slots < 0 and slots != -1:
        raise ValueError(f"pool slots must be >= 0 (or -1 for unlimited), got {slots}")
    pool = get_pool(api, name)
    before = int(pool["slots"]) if pool else None
    result = {"action": "pool", "target": name, "before": before, "after": slots, "dry_run": dry_run}
    if before == slots:
        log.info("Pool %s already has %d slots: nothing to change", name, slots)
        return {**result, "status": "unchanged"}
    if dry_run:
        log.info("DRY RUN: would set pool %s from %s to %d slots", name, before, slots)
        return {**result, "status": "dry_run"}
    if pool is None:
        api.post("pools", {"name": name, "slots": slots, "description": description or "created by autoscaling_monitor"})
        log.info("Created pool %s with %d slots", name, slots)
        return {**result, "status": "created"}
    # Airflow 3.3's PATCH body validation wants the pool name and include_deferred even with an
    # update mask; send the current values back so only the slots change.
    body = {"pool": name, "slots": slots, "include_deferred": bool(pool.get("include_deferred", False)),
            "description": pool.get("description")}
    updated = api.patch(api_path("pools", name), body, update_mask=["slots"])
    log.info("Resized pool %s: %s -> %s slots", name, before, updated.get("slots"))
    return {**result, "after": int(updated["slots"]), "status": "applied"}
