"""End to end: canary_deploy with the embedded stack — promote, roll back on errors, roll back on latency.

Real processes (two model servers, router, load generator) start in the setup task and must be gone
after the teardown, whatever the outcome. Bake times are seconds, set through the run's Params.
"""

from __future__ import annotations

import json

import pendulum
import psutil
import pytest

from tests.e2e.asset_events import run_events

pytestmark = pytest.mark.usefixtures("airflow_db")

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")
# Every fault Param is given explicitly: with one in-process DagBag, a Param set through run_conf in
# one dag.test() was seen to persist into the next test's run when that test left it out.
FAST = {"bake_seconds": 1, "min_requests": 20, "max_step_seconds": 30, "load_rps": 80, "load_concurrency": 4,
        "recorded_requests": 200, "challenger_error_rate": 0.0, "challenger_added_latency_ms": 0.0}


def _task_states(run) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        return {ti.task_id: ti.state for ti in s.query(TaskInstance).filter_by(dag_id=run.dag_id, run_id=run.run_id)}


def _run(dagbag, conf: dict):
    dag = dagbag.get_dag("canary_deploy")
    run = dag.test(logical_date=DAY, run_conf=FAST | conf)
    return run


def _report_dir(lake, version: str):
    return lake / "lake" / "reports" / "canary" / "2026-11-22" / f"canary_demo-v{version}"


def _assert_nothing_left(report_dir) -> dict:
    teardown = json.loads((report_dir / "teardown.json").read_text())
    assert {s["name"] for s in teardown["stopped"]} == {"champion", "challenger", "router", "loadgen"}
    for s in teardown["stopped"]:
        assert not s["alive"] and not s["port_in_use"], s
        assert not psutil.pid_exists(s["pid"]) or psutil.Process(s["pid"]).status() == psutil.STATUS_ZOMBIE
        if s["port"]:
            assert not any(c.laddr and c.laddr.port == s["port"] and c.status == psutil.CONN_LISTEN
                           for c in psutil.net_connections(kind="tcp"))
    return teardown


def test_healthy_challenger_is_promoted_after_all_steps(dagbag, lake):
    from include.platform import registry

    run = _run(dagbag, {})
    states = _task_states(run)
    assert run.state == "success", states
    assert states["stop_stack"] == "success"

    assert registry.aliases("canary_demo") == {"champion": "2", "previous": "1"}
    # The shared lifecycle vocabulary: the canary (not a trainer) promoted it; the old champion retired.
    promoted = registry.get_version("canary_demo", "2")
    assert promoted.status == "champion" and promoted.status_details["decided_by"] == "canary_deploy.rollout"
    assert promoted.status_details["metrics"]["weight"] == 100
    assert registry.get_version("canary_demo", "1").status == "retired"
    report = _report_dir(lake, "2")
    steps = (report / "steps.csv").read_text().splitlines()
    assert [line.split(",")[1] for line in steps[1:]] == ["10", "25", "50", "100"]
    assert all(line.split(",")[3] == "pass" for line in steps[1:])
    md = (report / "report.md").read_text()
    assert "Decision: promote" in md and (report / "latency.png").stat().st_size > 1000
    assert (report / "errors.png").exists()
    teardown = _assert_nothing_left(report)
    assert teardown["after_decision"]["weight"] == 100


def test_failing_challenger_rolled_back_at_first_step(dagbag, lake):
    from include.platform import registry

    run = _run(dagbag, {"challenger_error_rate": 0.2})
    states = _task_states(run)
    assert run.state == "success", states

    # Withdrawn after serving live traffic: rolled_back, and the challenger alias is gone so no rerun serves it.
    assert registry.aliases("canary_demo") == {"champion": "1"}
    rolled = registry.get_version("canary_demo", "2")
    assert rolled.status == "rolled_back" and rolled.status_details["decision"] == "rollback"
    assert rolled.status_details["evidence"]["failed_step"] == 1
    assert any("error_rate" in r for r in rolled.status_details["reasons"])
    assert rolled.status_details["metrics"]["challenger_error_rate"] > 0.05
    assert len(rolled.status_details["evidence"]["steps"]) == 1  # never went past 10%

    report = _report_dir(lake, "2")
    assert "Decision: rollback" in (report / "report.md").read_text()
    teardown = _assert_nothing_left(report)
    after = teardown["after_decision"]
    # After the rollback the champion kept all the traffic.
    assert after["weight"] == 0 and after["challenger"]["n"] == 0 and after["champion"]["n"] > 0
    # The teardown reports the serving compute even for a rolled-back challenger.
    (spent,) = run_events(run.run_id, "compute_spent")
    assert (spent["dag_id"], spent["emitted_by"], spent["backend"], spent["challenger"]) == (
        "canary_deploy", "stop_stack", "embedded", "2")


def test_slow_challenger_rolled_back_on_latency(dagbag, lake):
    from include.platform import registry

    run = _run(dagbag, {"challenger_added_latency_ms": 120})
    assert run.state == "success", _task_states(run)

    rolled = registry.get_version("canary_demo", "2")
    assert rolled.status == "rolled_back"
    reasons = " ".join(rolled.status_details["reasons"])
    assert "p95_vs_champion" in reasons and "error_rate" not in reasons, rolled.status_details
    assert registry.aliases("canary_demo")["champion"] == "1"
    _assert_nothing_left(_report_dir(lake, "2"))
