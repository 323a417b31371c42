"""Recorded utilisation traces (every 15 minutes) for the autoscaling what-if replay.

CPU and memory follow a day/night cycle, GPU utilisation follows the inference queue, and a burst of
queued work in the afternoon of the last day makes the policy scale up and back down.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd


def metric_trace(end: datetime, hours: int = 48, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    steps = hours * 4
    ts = [end - timedelta(minutes=15 * (steps - 1 - i)) for i in range(steps)]
    hour = np.array([t.hour + t.minute / 60 for t in ts])
    daily = 0.5 + 0.5 * np.sin((hour - 8) / 24 * 2 * np.pi)
    queue = np.maximum(0, rng.poisson(4 + 20 * daily)).astype("int64")
    burst = slice(steps - 20, steps - 8)
    queue[burst] += rng.poisson(60, queue[burst].shape[0])
    cpu = np.clip(20 + 55 * daily + 0.4 * queue + rng.normal(0, 5, steps), 1, 100)
    mem = np.clip(35 + 30 * daily + rng.normal(0, 4, steps), 5, 100)
    gpu = np.clip(10 + 1.2 * queue + rng.normal(0, 6, steps), 0, 100)
    return pd.DataFrame({
        "timestamp": pd.to_datetime(ts, utc=True),
        "cpu_percent": cpu.round(1),
        "memory_percent": mem.round(1),
        "gpu_util_percent": gpu.round(1),
        "gpu_mem_used_gib": (gpu / 100 * 80 * 0.9).round(2),
        "queue_depth": queue,
        "pending_objects": (queue * 3 + rng.poisson(2, steps)).astype("int64"),
        "replicas": np.ones(steps, dtype="int64"),
    })
