"""One utilisation number from a GPU snapshot, and whether it meets a threshold.

Shared by ``GPUUtilizationSensor`` (on a worker) and ``GPUUtilizationTrigger`` (in the triggerer),
so both judge a snapshot the same way. Standard library only: the triggerer imports it.
"""

from __future__ import annotations

from include.gpu.nvml import GPUSnapshot

CONDITIONS = ("below", "above")
METRICS = ("utilization", "memory_used")
AGGREGATES = ("max", "mean", "min")
#: What a wait for GPU headroom does on a machine without a GPU (see GPUUtilizationSensor).
NO_GPU_POLICIES = ("proceed", "wait", "fail", "skip")


def observed_value(snapshot: GPUSnapshot, metric: str = "utilization", aggregate: str = "max") -> float | None:
    """One number for the devices in ``snapshot`` (percent), or None when there is no device."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    if not snapshot.gpus:
        return None
    values = [g.utilization_percent if metric == "utilization" else g.memory_used_percent for g in snapshot.gpus]
    if aggregate == "max":
        return max(values)
    if aggregate == "min":
        return min(values)
    return sum(values) / len(values)


def condition_met(value: float, threshold: float, condition: str) -> bool:
    """``value`` is strictly ``below`` / ``above`` ``threshold``."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    return value < threshold if condition == "below" else value > threshold
