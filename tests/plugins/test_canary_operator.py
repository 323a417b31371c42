"""CanaryRolloutOperator without a scheduler: defer, resume with the trigger's event, decide.

The backend is the real router (include/canary/router.py) on a loopback port; its request ledger
is filled directly, so each window holds exactly the traffic the test describes.
"""

from __future__ import annotations

import importlib
import threading

import pytest

from include.canary.httpbase import Server
from include.canary.router import Ledger, make_handler


@pytest.fixture(scope="module")
def operator_cls():
    import airflow  # noqa: F401 - puts plugins/ on sys.path

    return importlib.import_module("genai_airflow.canary.operators").CanaryRolloutOperator


@pytest.fixture
def router():
    ledger = Ledger(weight=0, seed=0)
    server = Server(("127.0.0.1", 0), make_handler(ledger, {}, timeout=1.0))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    yield ledger, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


PARAMS = {"steps": [10, 50, 100], "bake_seconds": 0, "min_requests": 20, "max_step_seconds": 5}


def _operator(operator_cls, router_url, lake):
    return operator_cls(task_id="rollout", stack={"router_url": router_url},
                        report_uri=f"file://{lake}/lake/reports/canary/test")


def _serve(ledger, champion_n, challenger_n, challenger_errors=0, challenger_ms=2.0):
    for i in range(champion_n):
        ledger.add("champion", True, 2.0 + (i % 5) * 0.1)
    for i in range(challenger_n):
        ledger.add("challenger", i >= challenger_errors, challenger_ms + (i % 5) * 0.1)


def _defer(call):
    from airflow.sdk.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as deferred:
        call()
    return deferred.value


def _event(deferred):
    trigger = deferred.trigger
    return {"state": trigger.state, "weight": trigger.weight, "counts": None, "error": None, "elapsed_s": 0.1}


def test_healthy_windows_walk_every_step_then_promote(operator_cls, router, lake):
    ledger, url = router
    op, context = _operator(operator_cls, url, lake), {"params": PARAMS}
    deferred = _defer(lambda: op.execute(context))
    assert deferred.method_name == "bake_complete" and ledger.weight == 10
    assert deferred.trigger.serialize()[0] == "genai_airflow.canary.triggers.CanaryBakeTrigger"
    for expected_next in (50, 100):
        _serve(ledger, 100, 30)
        deferred = _defer(lambda d=deferred: op.bake_complete(context, _event(d)))
        assert ledger.weight == expected_next
    _serve(ledger, 0, 40)
    outcome = op.bake_complete(context, _event(deferred))
    assert outcome["decision"] == "promote" and ledger.weight == 100
    assert [s["weight"] for s in outcome["steps"]] == [10, 50, 100]
    assert outcome["steps"][-1]["compared_with"] == "previous window"
    assert (lake / "lake" / "reports" / "canary" / "test" / "windows" / "step-3-try-1.json").exists()


def test_error_window_rolls_back_at_once(operator_cls, router, lake):
    ledger, url = router
    op, context = _operator(operator_cls, url, lake), {"params": PARAMS}
    deferred = _defer(lambda: op.execute(context))
    _serve(ledger, 200, 30, challenger_errors=6)
    outcome = op.bake_complete(context, _event(deferred))
    assert outcome["decision"] == "rollback" and outcome["failed_step"] == 1 and ledger.weight == 0
    assert any(r.startswith("error_rate") for r in outcome["reasons"])


def test_no_data_fails_safe_and_failure_limit_rebakes(operator_cls, router, lake):
    ledger, url = router
    op, context = _operator(operator_cls, url, lake), {"params": PARAMS | {"failure_limit": 1}}
    deferred = _defer(lambda: op.execute(context))
    _serve(ledger, 200, 3)  # too few challenger requests: inconclusive, re-baked once
    deferred = _defer(lambda: op.bake_complete(context, _event(deferred)))
    assert deferred.trigger.state["rollout"]["attempt"] == 2 and ledger.weight == 10
    outcome = op.bake_complete(context, _event(deferred))  # still nothing new: second failure
    assert outcome["decision"] == "rollback" and [s["status"] for s in outcome["steps"]] == ["inconclusive"] * 2


def test_backend_error_sends_traffic_back_to_the_champion(operator_cls, router, lake):
    ledger, url = router
    op, context = _operator(operator_cls, url, lake), {"params": PARAMS}
    deferred = _defer(lambda: op.execute(context))
    event = _event(deferred)
    event["state"]["marker"] = "not-a-sequence-number"
    with pytest.raises(ValueError):
        op.bake_complete(context, event)
    assert ledger.weight == 0


def test_the_trigger_gets_the_router_url_and_host_the_setup_recorded(operator_cls, router, lake):
    _, url = router
    op = operator_cls(task_id="rollout", stack={"router_url": url, "host": "canary-host-1"},
                      report_uri=f"file://{lake}/lake/reports/canary/test")
    deferred = _defer(lambda: op.execute({"params": PARAMS}))
    assert deferred.trigger.counts_url.startswith(f"{url}/admin/counts?since=")
    assert deferred.trigger.stack_host == "canary-host-1"
