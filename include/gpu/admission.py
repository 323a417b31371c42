"""GPU admission through an Airflow pool: slots = how many more GPU tasks fit in free GPU memory.

Neither KEDA nor the HPA gates *task admission*: they add workers, but a task that starts on a GPU
without room for its weights dies with CUDA OOM. Sizing the ``gpu`` pool from NVML's free memory
(DCGM ``FB_FREE``) divided by the per-task footprint makes the scheduler queue GPU tasks instead.
A task cannot span devices, so each device contributes ``floor(free / footprint)`` on its own.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from include.gpu import nvml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdmissionDecision:
    pool: str
    slots: int
    reason: str
    per_gpu_slots: tuple[int, ...] = ()


def gpu_pool_slots(
    free_memory_mib: list[float],
    footprint_mib: float,
    running_tasks: int = 0,
    headroom_mib: float = 512.0,
    max_slots: int | None = None,
    no_gpu_slots: int = 1,
) -> tuple[int, tuple[int, ...], str]:
    """Pool slots for GPU tasks of ``footprint_mib`` each.

    ``running_tasks`` already hold memory (it is not free any more) and keep their slots, so the
    pool size is ``running + fitting``; otherwise shrinking the pool below its running tasks would
    show negative open slots. ``headroom_mib`` stays free per device for the CUDA context and
    fragmentation. With no GPU (empty list) the pool gets ``no_gpu_slots`` (CPU fallback runs).
    """
    if footprint_mib <= 0:
        raise ValueError("footprint_mib must be > 0")
    if not free_memory_mib:
        slots = max(no_gpu_slots, 0)
        return slots, (), f"no GPU visible: pool keeps {slots} slot(s) for CPU fallback runs"
    per_gpu = tuple(max(0, math.floor((free - headroom_mib) / footprint_mib)) for free in free_memory_mib)
    fitting = sum(per_gpu)
    slots = running_tasks + fitting
    capped = ""
    if max_slots is not None and slots > max_slots:
        slots, capped = max_slots, f", capped at max_slots={max_slots}"
    reason = (f"{len(free_memory_mib)} GPU(s) with {', '.join(f'{f:.0f}' for f in free_memory_mib)} MiB free; "
              f"footprint {footprint_mib:.0f} MiB + {headroom_mib:.0f} MiB headroom -> {list(per_gpu)} more "
              f"task(s) + {running_tasks} running = {slots} slot(s){capped}")
    return slots, per_gpu, reason


def decide(snapshot: nvml.GPUSnapshot, pool: str, footprint_mib: float, running_tasks: int = 0,
           headroom_mib: float = 512.0, max_slots: int | None = None, no_gpu_slots: int = 1) -> AdmissionDecision:
    slots, per_gpu, reason = gpu_pool_slots(
        snapshot.free_memory_mib() if snapshot.available else [], footprint_mib, running_tasks,
        headroom_mib, max_slots, no_gpu_slots)
    if not snapshot.available:
        reason = f"{reason} ({snapshot.reason})"
    return AdmissionDecision(pool=pool, slots=slots, reason=reason, per_gpu_slots=per_gpu)


def apply(api: Any, decision: AdmissionDecision, dry_run: bool = False) -> dict[str, Any]:
    """Resize the pool through the Airflow REST API (``include.platform.airflow_api.AirflowAPI``)."""
    from include.scaling.actions.pool import resize_pool

    return resize_pool(api, decision.pool, decision.slots, dry_run=dry_run,
                       description="GPU admission - slots follow free GPU memory / per-task footprint")


def admit(api: Any, pool: str, footprint_mib: float, dry_run: bool = False,
          snapshot: nvml.GPUSnapshot | None = None) -> dict[str, Any]:
    """Read the pool's running tasks, decide its slots from NVML, resize it; skipped without an API server.

    The pool's running slots come from the REST API too, so with no server there is nothing to
    read or resize: the step returns ``status="skipped"`` with the reason instead of failing the run.
    """
    from include.platform.airflow_api import AirflowAPIUnavailable
    from include.scaling.actions.pool import get_pool

    try:
        current = get_pool(api, pool)
    except AirflowAPIUnavailable as exc:
        log.warning("GPU admission for pool %s skipped: %s", pool, exc)
        return {"action": "pool", "target": pool, "status": "skipped", "reason": str(exc), "dry_run": dry_run}
    running = int(current["running_slots"]) if current else 0
    decision = decide(snapshot or nvml.probe(), pool, footprint_mib, running_tasks=running)
    log.info("GPU admission for pool %s: %s", decision.pool, decision.reason)
    return apply(api, decision, dry_run=dry_run)
