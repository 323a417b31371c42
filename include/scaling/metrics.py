"""What the autoscaling monitor measures, each from its system of record.

* CPU and memory of the worker host: psutil (the article's choice, kept).
* GPU utilisation and free memory: NVML through ``include.gpu.nvml`` (the counters DCGM exporter publishes);
  ``None`` when the machine has no GPU, so the policy simply ignores that metric.
* Queue depth: queued + running task instances per pool and per queue, from the Airflow REST API
  (the same count KEDA's Airflow scaler queries, ``state IN ('running','queued')``), read through the
  API because Airflow 3 task code may not query the metadata DB.
* Pending work: objects waiting under a lake prefix (the article's ``pending/`` bucket prefix),
  confined to ``raw/requests/<...>`` by :mod:`include.scaling.guards`.

A metric that cannot be read (no API server under ``make run``/``airflow dags test``) is ``None``
and its reason is kept under ``unavailable``: the policy ignores a ``None`` metric, and the decision
row says why it was not measured instead of the run failing.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from include.gpu import nvml
from include.platform import storage
from include.platform.airflow_api import AirflowAPIUnavailable, api_path
from include.platform.paths import ensure_under, safe_local_join
from include.scaling import guards

log = logging.getLogger(__name__)

QUEUE_STATES = ("queued", "running")


def host_metrics(sample_seconds: float = 1.0) -> dict[str, float]:
    import psutil

    return {
        "cpu_percent": float(psutil.cpu_percent(interval=sample_seconds)),
        "memory_percent": float(psutil.virtual_memory().percent),
        "cpu_count": float(psutil.cpu_count() or 1),
    }


def gpu_metrics() -> dict[str, Any]:
    """Aggregated NVML readings; ``gpu_util_mean`` is None when there is no GPU."""
    snap = nvml.probe()
    used = [g.memory_used_percent for g in snap.gpus]
    return {
        "gpu_available": snap.available,
        "gpu_count": snap.count,
        "gpu_util_mean": snap.mean_utilization(),
        "gpu_util_max": snap.max_utilization(),
        "gpu_mem_used_percent": (sum(used) / len(used)) if used else None,
        "gpu_free_mib": snap.free_memory_mib(),
        "gpu_reason": snap.reason,
        "gpu_snapshot": snap.to_dict(),
    }


def queue_depth(api: Any, pools: list[str] | None = None) -> dict[str, Any]:
    """Queued + running task instances, in total and per pool / per queue.

    ``pools`` limits the total to those pools (the work this scaler is responsible for); the per-pool
    and per-queue breakdowns always cover every pool so the decision row shows the whole picture.
    """
    by_pool: Counter[str] = Counter()
    by_queue: Counter[str] = Counter()
    by_state: Counter[str] = Counter()
    for ti in api.paginate(api_path("dags", "~", "dagRuns", "~", "taskInstances"), "task_instances",
                           state=list(QUEUE_STATES)):
        by_pool[ti.get("pool") or "default_pool"] += 1
        by_queue[ti.get("queue") or "default"] += 1
        by_state[ti.get("state") or "unknown"] += 1
    total = sum(by_pool[p] for p in pools) if pools else sum(by_pool.values())
    return {"total": int(total), "by_pool": dict(by_pool), "by_queue": dict(by_queue), "by_state": dict(by_state)}


def lake_prefix(prefix: str) -> Any:
    """``raw/requests/pending`` -> its ObjectStoragePath, after :func:`guards.pending_prefix` (ConfigError)."""
    segments = guards.pending_prefix(prefix).split("/")
    area = storage.lake_path(*guards.REQUESTS_AREA)
    root = ensure_under(area, storage.lake_path(segments[0], *segments[1:]))
    if storage.is_local(root):  # a symlinked folder on the way must not lead out of the requests area
        safe_local_join(area.path, *segments[len(guards.REQUESTS_AREA):])
    return root


def list_pending(prefix: str, limit: int | None = None) -> list[str]:
    """URIs of the objects under ``prefix`` (recursive; hidden/temp files and symlinks excluded), sorted."""
    root = lake_prefix(prefix)
    if not root.exists():
        return []
    found: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.iterdir():
            if child.name.startswith("."):
                continue
            if storage.is_symlink(child):
                log.warning("Ignoring symlink %s under the pending prefix (it may point outside the lake)", child)
                continue
            if child.is_dir():
                stack.append(child)
            else:
                found.append(str(child))
    found.sort()
    return found[:limit] if limit else found


def collect(api: Any, pools: list[str] | None, pending_prefix: str | None, sample_seconds: float = 1.0) -> dict[str, Any]:
    """Every metric in one JSON-safe dict (what the DAG passes through XCom)."""
    out: dict[str, Any] = {"unavailable": {}}
    out.update(host_metrics(sample_seconds))
    out.update(gpu_metrics())
    try:
        out["queue"] = queue_depth(api, pools)
    except AirflowAPIUnavailable as exc:
        log.warning("queue depth not measured: %s", exc)
        out["queue"] = {"total": None, "by_pool": {}, "by_queue": {}, "by_state": {}}
        out["unavailable"]["queue_depth"] = str(exc)
    out["queue_depth"] = out["queue"]["total"]
    out["pending_objects"] = len(list_pending(pending_prefix)) if pending_prefix else None
    log.info("Metrics: cpu %.1f%%, memory %.1f%%, GPU %s, queue %s (%s), pending objects %s",
             out["cpu_percent"], out["memory_percent"],
             f"{out['gpu_util_mean']:.1f}% over {out['gpu_count']}" if out["gpu_available"] else
             f"none ({out['gpu_reason']})", out["queue_depth"], out["queue"]["by_pool"], out["pending_objects"])
    return out
