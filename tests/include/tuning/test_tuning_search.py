"""The resumable search: a retry resumes from persisted points instead of redoing them."""

from __future__ import annotations

import pytest

from include.platform import storage
from include.tuning import search
from include.tuning.space import SearchSpace, categorical, integer, real
from include.tuning.store import LakeJsonTrialStore

SPACE = SearchSpace((real("x", -2.0, 2.0), integer("n", 1, 20), categorical("kind", "a", "b")))


class Objective:
    """A cheap function with a known minimum that can crash once, like a lost worker."""

    def __init__(self, crash_on_call: int | None = None):
        self.calls = 0
        self.crash_on_call = crash_on_call

    def __call__(self, p: dict) -> float:
        self.calls += 1
        if self.crash_on_call is not None and self.calls == self.crash_on_call:
            raise RuntimeError("worker lost")
        return (p["x"] - 0.5) ** 2 + abs(p["n"] - 7) / 10 + (0.0 if p["kind"] == "b" else 0.3)


@pytest.fixture
def store(lake):
    return LakeJsonTrialStore(storage.lake_path("reports", "test", "trials.json"))


def test_retry_resumes_and_does_not_redo_finished_calls(store):
    first = Objective(crash_on_call=4)
    with pytest.raises(RuntimeError, match="worker lost"):
        search.minimize(first, SPACE, store, n_calls=8, n_initial_points=3, seed=1, n_points=500, acq_optimizer="sampling")
    assert first.calls == 4
    assert len(store.load(SPACE.fingerprint())) == 3  # the three finished calls were persisted

    retry = Objective()
    result = search.minimize(retry, SPACE, store, n_calls=8, n_initial_points=3, seed=1, n_points=500, acq_optimizer="sampling")
    assert retry.calls == 5                          # 8 - 3: nothing redone
    assert result.resumed_from == 3 and result.n_new_evaluations == 5
    assert result.n_evaluations == 8 and result.attempts == 2
    saved = storage.read_json(store.path)
    assert len(saved["x_iters"]) == len(saved["func_vals"]) == 8
    assert result.best_value == min(saved["func_vals"])
    assert set(result.best_params) == {"x", "n", "kind"} and isinstance(result.best_params["n"], int)

    # A third attempt (e.g. a later task failed and the whole task is retried) has nothing left.
    again = Objective()
    done = search.minimize(again, SPACE, store, n_calls=8, n_initial_points=3, seed=1, n_points=500, acq_optimizer="sampling")
    assert again.calls == 0 and done.best_value == result.best_value


def test_time_budget_stops_the_search(store):
    obj = Objective()
    result = search.minimize(obj, SPACE, store, n_calls=10, n_initial_points=2, time_budget_s=1e-9, seed=1, n_points=500, acq_optimizer="sampling")
    assert result.stopped_by == "time_budget"
    assert obj.calls == 1 and result.n_evaluations == 1


def test_other_space_starts_afresh(store):
    search.minimize(Objective(), SPACE, store, n_calls=2, n_initial_points=2, seed=1, n_points=500, acq_optimizer="sampling")
    narrower = SPACE.with_overrides({"x": [0.0, 1.0]})
    obj = Objective()
    result = search.minimize(obj, narrower, store, n_calls=2, n_initial_points=2, seed=1, n_points=500, acq_optimizer="sampling")
    assert result.resumed_from == 0 and obj.calls == 2
    assert all(0.0 <= t["x"] <= 1.0 for t in result.trials)


def test_space_overrides_validate():
    with pytest.raises(KeyError, match="unknown dimensions"):
        SPACE.with_overrides({"learning_rte": [0.1, 0.2]})
    with pytest.raises(ValueError, match="low < high"):
        SPACE.with_overrides({"n": [5, 5]})
    assert SPACE.with_overrides({"kind": ["b"]}).dimensions[2].choices == ("b",)


def test_non_finite_objective_is_replaced_or_refused(store):
    def nan_objective(p):
        return float("nan")

    with pytest.raises(ValueError, match="failure_value"):
        search.minimize(nan_objective, SPACE, store, n_calls=1, n_initial_points=1)
    result = search.minimize(nan_objective, SPACE, LakeJsonTrialStore(store.path.parent / "other.json"),
                             n_calls=2, n_initial_points=1, failure_value=9.0)
    assert result.best_value == 9.0
