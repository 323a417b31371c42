"""End to end: pending work and queued tasks -> the monitor decides, resizes the pool through a REAL Airflow
API server and records the decision; a dry run changes nothing; without an API server it degrades and succeeds.
The work itself is batch_inference's (tests/e2e/test_batch_inference.py), the replay autoscaling_whatif_replay's."""

from __future__ import annotations

import json

import pandas as pd
import pendulum
import pytest

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.slow]

DAY = pendulum.datetime(2026, 11, 22, 12, 0, tz="UTC")
PENDING = 25  # requests waiting; target 10 per replica -> 3 replicas
QUEUED = 4  # task instances queued in the inference pool; target 1 per replica -> 4 replicas


@pytest.fixture
def monitor_env(airflow_api_server, lake, monkeypatch):
    api_server = airflow_api_server
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", api_server["url"])
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", api_server["jwt_secret"])
    from include.platform.airflow_api import AirflowAPI

    api = AirflowAPI(api_server["url"])
    for pool in ("inference", "gpu"):
        try:
            api.request("DELETE", f"pools/{pool}")
        except Exception:  # noqa: BLE001 - not there yet
            pass
    api.post("pools", {"name": "inference", "slots": 1, "description": "batch inference (test)"})
    return api


def _tis(dag_id: str, run_id: str) -> dict[str, list[str]]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    out: dict[str, list[str]] = {}
    with create_session() as s:
        for ti in s.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id):
            out.setdefault(ti.task_id, []).append(str(ti.state))
    return out


def _queue_task_instances(run_id: str, pool: str, count: int) -> None:
    """Put ``count`` task instances of a triggered run in state queued in ``pool`` (what the scheduler
    does when a worker slot is free); no scheduler runs in tests."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        tis = s.query(TaskInstance).filter_by(dag_id="autoscaling_monitor", run_id=run_id).limit(count).all()
        assert len(tis) == count, f"triggered run has {len(tis)} task instances"
        for ti in tis:
            ti.state, ti.pool = "queued", pool


def test_autoscaling_monitor_resizes_pool_and_records(dagbag, lake, monitor_env):
    from include.platform import warehouse
    from include.scaling.batches import write_requests
    from include.scaling.metrics import lake_prefix, list_pending

    api = monitor_env
    write_requests(lake_prefix("raw/requests/pending"), PENDING)
    dag = dagbag.get_dag("autoscaling_monitor")

    # 1. Dry run: decides, explains and records; changes nothing.
    dry = dag.test(logical_date=DAY, run_conf={"dry_run": True})
    assert dry.state == "success"
    assert api.get("pools/inference")["slots"] == 1
    assert len(list_pending("raw/requests/pending")) == PENDING
    dry_row = warehouse.query("SELECT * FROM scaling_decisions WHERE run_id = ?", [dry.run_id]).iloc[0]
    assert (dry_row["status"], bool(dry_row["dry_run"]), dry_row["desired_replicas"]) == ("dry_run", True, 3)
    assert dry_row["driver"] == "pending_objects" and dry_row["pending_objects"] == PENDING
    assert "pending_objects = 25" in dry_row["explanation"] and "decision: up 1 -> 3" in dry_row["explanation"]
    assert sorted(_tis("autoscaling_monitor", dry.run_id)) == ["collect_metrics", "decide", "gpu_admission", "scale"]
    with pytest.raises(Exception, match="404"):
        api.get("pools/gpu")  # GPU admission did not create the pool either

    # 2. Queue up work: a run triggered through the API whose task instances wait in the inference pool.
    queued_run = api.post("dags/autoscaling_monitor/dagRuns",
                          {"logical_date": DAY.add(minutes=5).isoformat(), "conf": {"dry_run": True}})
    _queue_task_instances(queued_run["dag_run_id"], pool="inference", count=QUEUED)

    # 3. Real run: the queue drives the decision (one queued task per replica), the pool is resized
    # through the API and the row written; the pending work stays for batch_inference.
    run = dag.test(logical_date=DAY.add(minutes=15),  # dag.test keeps an earlier run_conf: pass it explicitly
                   run_conf={"dry_run": False, "target_queue_per_replica": 1.0})
    assert run.state == "success"
    assert api.get("pools/inference")["slots"] == QUEUED
    row = warehouse.query("SELECT * FROM scaling_decisions WHERE run_id = ?", [run.run_id]).iloc[0]
    assert (row["status"], bool(row["dry_run"]), row["current_replicas"], row["desired_replicas"]) == \
        ("applied", False, 1, QUEUED)
    assert (row["driver"], row["queue_depth"], row["applied_replicas"]) == ("queue_depth", QUEUED, QUEUED)
    assert json.loads(row["queue_by_pool"])["inference"] == QUEUED
    details = json.loads(row["details"])
    assert (details["action"], details["before"], details["after"]) == ("pool", 1, QUEUED)
    assert len(list_pending("raw/requests/pending")) == PENDING  # measured, not consumed
    gpu_pool = api.get("pools/gpu")  # GPU admission: no GPU -> 1 slot kept for CPU fallback runs
    assert gpu_pool["slots"] == 1 and "GPU admission" in gpu_pool["description"]


def _xcom(run_id: str, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as s:
        value = s.query(XComModel).filter_by(dag_id="autoscaling_monitor", run_id=run_id, task_id=task_id,
                                             key="return_value").one().value
    return value if isinstance(value, dict) else json.loads(value)


def test_without_an_api_server_the_monitor_degrades_and_succeeds(dagbag, lake, monkeypatch):
    """`make run DAG=autoscaling_monitor` without `make start`: no REST API answers. The run succeeds: queue
    depth marked unavailable with the reason, pool action and GPU admission skipped and recorded."""
    from include.platform import warehouse
    from include.scaling.batches import write_requests
    from include.scaling.metrics import lake_prefix, list_pending
    from tests.fixtures.emulators import free_port

    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", closed)
    monkeypatch.delenv("AIRFLOW_CONN_AIRFLOW_API", raising=False)
    write_requests(lake_prefix("raw/requests/pending"), 12)  # target 10 per replica -> 2 replicas

    run = dagbag.get_dag("autoscaling_monitor").test(
        logical_date=DAY.add(days=3), run_conf={"dry_run": False, "target_queue_per_replica": 4.0})
    assert run.state == "success"

    metrics = _xcom(run.run_id, "collect_metrics")
    assert metrics["queue_depth"] is None and closed in metrics["unavailable"]["queue_depth"]
    row = warehouse.query("SELECT * FROM scaling_decisions WHERE run_id = ?", [run.run_id]).iloc[0]
    assert (row["status"], bool(row["dry_run"]), row["desired_replicas"], row["driver"]) == \
        ("skipped", False, 2, "pending_objects")
    assert pd.isna(row["queue_depth"]) and pd.isna(row["applied_replicas"])  # not measured, nothing applied
    details = json.loads(row["details"])
    assert details["status"] == "skipped" and closed in details["reason"] and "run `make start`" in details["reason"]
    assert "make start" in details["unavailable"]["queue_depth"]
    assert "queue_depth not measured (ignored by the policy)" in row["explanation"]
    assert "current replicas not read, assumed min_replicas = 1" in row["explanation"]
    admission = _xcom(run.run_id, "gpu_admission")
    assert admission["status"] == "skipped" and closed in admission["reason"]

    assert _tis("autoscaling_monitor", run.run_id)["scale"] == ["success"]
    assert len(list_pending("raw/requests/pending")) == 12
