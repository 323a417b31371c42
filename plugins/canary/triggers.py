"""Bake a canary step in the triggerer, so no worker slot is held while traffic accumulates.

The trigger waits at least ``bake_seconds``; if the backend gave a ``counts_url`` (the local router)
it also waits, up to ``max_step_seconds``, until both models have served ``min_requests`` in the
window, polling a cheap count endpoint. It never decides anything: it hands the window back to the
operator, which reads the raw samples and runs the analysis on a worker (scipy stays out of the
triggerer). ``state`` is echoed back untouched so the rollout resumes where it was, whichever way
the event reaches the task (triggerer or ``dag.test()`` running triggers inline).

Early abort (``max_error_rate`` + ``alpha`` given): once the challenger has ``min_requests``, the
bake ends as soon as its errors are *significantly* above the ceiling (one-sided exact binomial
test), instead of serving the full bake at a known-bad error rate. Measured at the default policy
(bench/canary_router.py): it cuts the requests a 20%-failing challenger serves roughly threefold.

Only the standard library and ``airflow.triggers.base`` are imported: the triggerer imports this
module by the path in ``serialize()``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback router URL
        return json.loads(resp.read())


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (no scipy in the triggerer)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    lg = math.lgamma
    return min(1.0, sum(math.exp(lg(n + 1) - lg(i + 1) - lg(n - i + 1) + i * log_p + (n - i) * log_q)
                        for i in range(k, n + 1)))


class CanaryBakeTrigger(BaseTrigger):
    def __init__(self, *, weight: int, bake_seconds: float, max_step_seconds: float, min_requests: int,
                 counts_url: str | None = None, poll_seconds: float = 1.0, state: dict[str, Any] | None = None,
                 started_at: float | None = None, max_error_rate: float | None = None,
                 alpha: float | None = None) -> None:
        super().__init__()
        self.weight = int(weight)
        self.bake_seconds = float(bake_seconds)
        self.max_step_seconds = float(max_step_seconds)
        self.min_requests = int(min_requests)
        self.counts_url = counts_url
        self.poll_seconds = float(poll_seconds)
        self.state = state or {}
        self.max_error_rate = max_error_rate
        self.alpha = alpha
        # Fixed at first construction and serialised: a triggerer restart does not restart the bake clock.
        self.started_at = float(started_at) if started_at is not None else time.time()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "weight": self.weight, "bake_seconds": self.bake_seconds, "max_step_seconds": self.max_step_seconds,
            "min_requests": self.min_requests, "counts_url": self.counts_url, "poll_seconds": self.poll_seconds,
            "state": self.state, "started_at": self.started_at, "max_error_rate": self.max_error_rate,
            "alpha": self.alpha,
        })

    def _enough(self, counts: dict[str, Any]) -> bool:
        challenger_ok = counts["challenger"]["n"] >= self.min_requests
        champion_ok = self.weight >= 100 or counts["champion"]["n"] >= self.min_requests
        return challenger_ok and champion_ok

    def _clearly_failing(self, counts: dict[str, Any]) -> bool:
        if self.max_error_rate is None or self.alpha is None:
            return False
        n, errors = counts["challenger"]["n"], counts["challenger"]["errors"]
        return n >= self.min_requests and binomial_sf(errors, n, self.max_error_rate) < self.alpha

    async def run(self) -> AsyncIterator[TriggerEvent]:
        counts: dict[str, Any] | None = None
        error: str | None = None
        early_abort = False
        while True:
            elapsed = time.time() - self.started_at
            baked = elapsed >= self.bake_seconds
            if self.counts_url:
                try:
                    # urllib is blocking: run it in a thread so the triggerer's event loop never stalls.
                    counts = await asyncio.to_thread(_get_json, self.counts_url, 5.0)
                    error = None
                except OSError as exc:
                    error = f"router unreachable: {exc}"
                if baked and counts is not None and self._enough(counts):
                    break
                if counts is not None and self._clearly_failing(counts):
                    early_abort = True
                    break
            elif baked:
                break
            if elapsed >= self.max_step_seconds:
                break
            await asyncio.sleep(self.poll_seconds)
        self.log.info("bake at %s%% done after %.1fs: %s", self.weight, time.time() - self.started_at, counts)
        yield TriggerEvent({"state": self.state, "weight": self.weight, "counts": counts, "error": error,
                            "early_abort": early_abort, "elapsed_s": round(time.time() - self.started_at, 3)})
