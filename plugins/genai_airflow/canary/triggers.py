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

Where it polls: the router URL the setup task recorded (``counts_url``) on the host it recorded
(``stack_host``) — never an address guessed on the triggerer. The embedded servers bind loopback by
default, and a triggerer on another machine would reach *its own* loopback (nothing, or another
run's router). So a loopback URL recorded on another host is not polled: the bake runs as a plain
timer and the event says why, which the analysis then reports with the step.

The triggerer imports this module by the path in ``serialize()``
(``genai_airflow.canary.triggers.CanaryBakeTrigger``; Airflow puts the plugins folder on its
``sys.path``), so it imports only the standard library, ``airflow.triggers.base`` and
``include.canary.bake`` (the reachability rule and the binomial tail, standard library only).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from include.canary.bake import binomial_sf, unreachable_reason


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback router URL
        return json.loads(resp.read())


class CanaryBakeTrigger(BaseTrigger):
    def __init__(self, *, weight: int, bake_seconds: float, max_step_seconds: float, min_requests: int,
                 counts_url: str | None = None, poll_seconds: float = 1.0, state: dict[str, Any] | None = None,
                 started_at: float | None = None, max_error_rate: float | None = None,
                 alpha: float | None = None, stack_host: str | None = None) -> None:
        super().__init__()
        self.weight = int(weight)
        self.bake_seconds = float(bake_seconds)
        self.max_step_seconds = float(max_step_seconds)
        self.min_requests = int(min_requests)
        self.counts_url = counts_url
        self.stack_host = stack_host
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
            "alpha": self.alpha, "stack_host": self.stack_host,
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
        refused = unreachable_reason(self.counts_url, self.stack_host)
        error: str | None = refused
        early_abort = False
        if refused:
            self.log.warning("%s", refused)
        while True:
            elapsed = time.time() - self.started_at
            baked = elapsed >= self.bake_seconds
            if self.counts_url and not refused:
                try:
                    # urllib is blocking: run it in a thread so the triggerer's event loop never stalls.
                    counts = await asyncio.to_thread(_get_json, self.counts_url, 5.0)
                    error = None
                except (OSError, ValueError) as exc:  # refused, timed out, HTTP error, not JSON
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
