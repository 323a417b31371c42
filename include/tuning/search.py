"""Bayesian search (skopt ``gp_minimize``) that survives task retries, bounded by calls and seconds.

Why a wrapper: scikit-optimize was archived upstream in 2024 (last release 0.10.2, pinned here), so
no DAG or domain code imports it: everything goes through ``minimize`` and our ``SearchSpace``.
Swapping in Optuna's ``GPSampler`` means rewriting this one module.

Resumable: a callback writes every evaluated point to a ``TrialStore`` right after the objective
returns. When Airflow retries the task (worker lost, OOM, pre-emption), ``minimize`` loads those
points and hands them to ``gp_minimize`` as ``x0``/``y0``: the Gaussian process is refitted on
them without calling the objective again, and only the remaining ``n_calls - done`` calls run.
The wall-time budget is cumulative across attempts for the same reason.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from include.tuning.space import SearchSpace
from include.tuning.store import Trials, TrialStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchResult:
    best_params: dict[str, Any]
    best_value: float
    n_evaluations: int       # all points, this attempt and the ones before
    n_new_evaluations: int   # objective calls made by this attempt
    resumed_from: int        # points loaded from the store at start
    stopped_by: str          # "n_calls" | "time_budget"
    elapsed_s: float
    attempts: int
    trials: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "trials"}


def _skopt_dimensions(space: SearchSpace) -> list:
    from skopt.space import Categorical, Integer, Real

    dims = []
    for d in space.dimensions:
        prior = "log-uniform" if d.log else "uniform"
        if d.kind == "real":
            dims.append(Real(d.low, d.high, prior=prior, name=d.name))
        elif d.kind == "integer":
            dims.append(Integer(int(d.low), int(d.high), prior=prior, name=d.name))
        else:
            dims.append(Categorical(list(d.choices), name=d.name))
    return dims


def _result(space: SearchSpace, trials: Trials, new: int, resumed: int, stopped_by: str) -> SearchResult:
    if not trials.func_vals:
        raise RuntimeError("the search evaluated no point: raise n_calls or the wall-time budget")
    best = min(range(len(trials.func_vals)), key=trials.func_vals.__getitem__)
    return SearchResult(
        best_params=space.as_params(trials.x_iters[best]),
        best_value=float(trials.func_vals[best]),
        n_evaluations=len(trials),
        n_new_evaluations=new,
        resumed_from=resumed,
        stopped_by=stopped_by,
        elapsed_s=round(trials.elapsed_s, 3),
        attempts=trials.attempts,
        trials=[space.as_params(x) | {"value": y} for x, y in zip(trials.x_iters, trials.func_vals, strict=True)],
    )


def minimize(
    objective: Callable[[dict[str, Any]], float],
    space: SearchSpace,
    store: TrialStore,
    *,
    n_calls: int,
    n_initial_points: int = 5,
    time_budget_s: float | None = None,
    seed: int = 42,
    failure_value: float | None = None,
    n_points: int = 10_000,
    acq_optimizer: str = "auto",
) -> SearchResult:
    """Minimise ``objective(params)`` over ``space``, resuming from ``store``.

    ``n_calls`` and ``time_budget_s`` bound the whole search (all attempts together).
    ``failure_value`` replaces a NaN/inf objective so one diverging point cannot break the GP.
    ``n_points`` is how many candidates the acquisition function is scored on (skopt's default);
    fewer make each step cheaper when the objective itself is cheap; ``acq_optimizer="sampling"``
    skips the L-BFGS restarts (skopt's "auto" picks L-BFGS for a Gaussian process).
    """
    if n_calls < 1:
        raise ValueError("n_calls must be >= 1")
    from skopt import gp_minimize

    trials = store.load(space.fingerprint())
    trials.attempts += 1
    store.save(trials)
    resumed = len(trials)
    prior_elapsed = trials.elapsed_s
    remaining = n_calls - resumed
    budget = math.inf if time_budget_s is None else float(time_budget_s)
    if remaining <= 0 or prior_elapsed >= budget:
        stopped = "n_calls" if remaining <= 0 else "time_budget"
        log.info("Search already finished (%d points, stopped by %s); nothing to evaluate", resumed, stopped)
        return _result(space, trials, 0, resumed, stopped)

    start = time.monotonic()
    state = {"new": 0, "stopped_by": "n_calls"}

    def func(point: list[Any]) -> float:
        params = space.as_params(point)
        value = float(objective(params))
        state["new"] += 1
        if not math.isfinite(value):
            if failure_value is None:
                raise ValueError(f"objective returned {value} for {params}; set failure_value to tolerate it")
            log.warning("objective returned %s for %s; recorded as %s", value, params, failure_value)
            value = float(failure_value)
        log.info("call %d/%d: %s -> %.5f", resumed + state["new"], n_calls, params, value)
        return value

    def persist(res: Any) -> bool:
        trials.x_iters = [[_plain(v) for v in x] for x in res.x_iters]
        trials.func_vals = [float(v) for v in res.func_vals]
        trials.elapsed_s = prior_elapsed + (time.monotonic() - start)
        store.save(trials)
        if trials.elapsed_s >= budget:
            state["stopped_by"] = "time_budget"
            log.info("Wall-time budget of %.0f s reached after %d points", budget, len(trials))
            return True  # a True return stops gp_minimize
        return False

    n_random = min(max(0, n_initial_points - resumed), remaining)
    if resumed == 0:
        n_random = max(1, n_random)
    log.info("Search: %d of %d calls to go (%d random first), %d loaded from the store",
             remaining, n_calls, n_random, resumed)
    from threadpoolctl import threadpool_limits

    # One BLAS thread for the Gaussian process: its matrices are tiny, and spinning BLAS threads
    # on a shared machine cost far more than they save. The objective sets its own limits.
    with threadpool_limits(limits=1):
        _run_gp(gp_minimize, func, space, trials, remaining, n_random, seed + resumed, persist,
                {"n_points": n_points, "acq_optimizer": acq_optimizer})
    return _result(space, trials, state["new"], resumed, state["stopped_by"])


def _run_gp(gp_minimize: Callable, func: Callable, space: SearchSpace, trials: Trials, remaining: int,
            n_random: int, random_state: int, persist: Callable, options: dict[str, Any]) -> None:
    gp_minimize(
        func,
        _skopt_dimensions(space),
        n_calls=remaining,
        n_initial_points=n_random,
        x0=[space.as_point(space.as_params(x)) for x in trials.x_iters] or None,
        y0=list(trials.func_vals) or None,
        # A different stream per resume: the same seed would redraw the random points already tried.
        random_state=random_state,
        callback=[persist],
        **options,
    )


def _plain(value: Any) -> Any:
    """numpy scalars → Python scalars, so the store stays plain JSON."""
    return value.item() if hasattr(value, "item") else value
