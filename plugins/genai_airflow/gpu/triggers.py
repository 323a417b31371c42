"""The trigger behind the deferrable ``GPUUtilizationSensor``: polls NVML in the triggerer.

Deferring frees the worker slot while we wait for a GPU to calm down (or to heat up). The triggerer
re-creates this class from ``serialize()``, so the class path must be importable there:
``genai_airflow.gpu.triggers.GPUUtilizationTrigger`` (Airflow puts the plugins folder on every
process's ``sys.path``, the triggerer's included). What it imports besides Airflow is
``include.gpu`` (standard library only; the project root is on ``PYTHONPATH`` in every process,
as in the Astro image).

Async safety: NVML calls are blocking C calls; they run in a worker thread (``asyncio.to_thread``)
so the triggerer's event loop, shared with every other deferred task, never blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from include.gpu import nvml
from include.gpu.utilization import condition_met, observed_value


class GPUUtilizationTrigger(BaseTrigger):
    """Fire once the aggregated GPU metric crosses ``threshold`` (or at once when there is no GPU).

    Events: ``{"status": "met", "value": ..., "snapshot": {...}}`` or
    ``{"status": "no_gpu", "reason": ...}``. With ``no_gpu_policy="wait"`` a missing GPU is polled
    like an unmet condition (a driver may come back after a node restart); the sensor's timeout ends it.
    """

    def __init__(
        self,
        threshold: float,
        condition: str = "below",
        metric: str = "utilization",
        aggregate: str = "max",
        device_indices: list[int] | None = None,
        poll_interval: float = 30.0,
        no_gpu_policy: str = "proceed",
    ) -> None:
        super().__init__()
        self.threshold = float(threshold)
        self.condition = condition
        self.metric = metric
        self.aggregate = aggregate
        self.device_indices = list(device_indices) if device_indices is not None else None
        self.poll_interval = float(poll_interval)
        self.no_gpu_policy = no_gpu_policy

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "threshold": self.threshold,
                "condition": self.condition,
                "metric": self.metric,
                "aggregate": self.aggregate,
                "device_indices": self.device_indices,
                "poll_interval": self.poll_interval,
                "no_gpu_policy": self.no_gpu_policy,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        polls = 0
        while True:
            snapshot = await asyncio.to_thread(nvml.probe, self.device_indices)
            polls += 1
            if not snapshot.available:
                if self.no_gpu_policy != "wait":
                    yield TriggerEvent({"status": "no_gpu", "reason": snapshot.reason, "polls": polls})
                    return
                self.log.info("No GPU yet (%s); polling again in %.0fs", snapshot.reason, self.poll_interval)
            else:
                value = observed_value(snapshot, self.metric, self.aggregate)
                if value is not None and condition_met(value, self.threshold, self.condition):
                    yield TriggerEvent({"status": "met", "value": value, "polls": polls,
                                        "snapshot": snapshot.to_dict()})
                    return
                self.log.info("GPU %s %s = %.1f%%, waiting until %s %.1f%%", self.aggregate, self.metric,
                              value, self.condition, self.threshold)
            await asyncio.sleep(self.poll_interval)
