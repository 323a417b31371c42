"""Pipelines run through the scheduler on Postgres + Celery with two workers (not dag.test()).

Tasks of one run land on different worker processes, so a task that relied on another task's
local temp files or in-memory state would fail here. The warehouse is Postgres (connection swap).
"""

from __future__ import annotations

import collections
import time

import psutil
import pytest

from tests.fixtures.emulators import free_port
from tests.services.celery_stack import CeleryStack, start_stack, stop_stack
from tests.services.conftest import answers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(postgres_url, tmp_path_factory):
    if not answers(6379):
        pytest.skip("Redis does not answer on 127.0.0.1:6379 (the Celery broker)")
    s = start_stack(tmp_path_factory.mktemp("celery"), free_port())
    try:
        yield s
    finally:
        assert stop_stack(s), "processes of the Celery stack survived make stop"


def _hosts(stack: CeleryStack, dag_id: str, run_id: str) -> collections.Counter:
    return collections.Counter(t["hostname"] for t in stack.task_instances(dag_id, run_id))


def test_seed_demo_data_runs_on_both_workers(stack):
    import pandas as pd

    run_id = stack.trigger("seed_demo_data", {"customer_rows": 2_000, "feedback_per_day": 100})
    assert stack.wait_run("seed_demo_data", run_id) == "success"
    raw = stack.data / "lake" / "raw"
    assert len(list((raw / "feedback").rglob("*.jsonl"))) == 3
    assert len(pd.read_parquet(raw / "customers" / "customers.parquet")) == 2_000
    hosts = _hosts(stack, "seed_demo_data", run_id)
    assert all(h.endswith(("-worker1", "-worker2")) for h in hosts), hosts


def _kill_worker(stack: CeleryStack, index: int) -> int:
    """SIGKILL every process of one worker at once, as a machine failure would."""
    procs = stack.worker_processes(index)
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)
    return len(procs)


def _wait_running(stack: CeleryStack, dag_id: str, run_id: str, task_id: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ti in stack.task_instances(dag_id, run_id):
            if ti["task_id"] == task_id and ti["state"] == "running" and ti.get("hostname"):
                return ti["hostname"]
        time.sleep(0.5)
    raise AssertionError(f"{task_id} was never seen running")


def test_worker_loss_mid_task_is_retried_on_the_other_worker(stack):
    """Kill the worker that is training the synthetic-data generator (a long task): the task is
    retried on the other worker, the run succeeds, and its outputs exist exactly once."""
    import psycopg2

    if not (stack.data / "lake" / "raw" / "customers" / "customers.parquet").exists():
        seed = stack.trigger("seed_demo_data", {"customer_rows": 2_000, "feedback_per_day": 10})
        assert stack.wait_run("seed_demo_data", seed) == "success"
    conf = {"epochs": 150, "rows_to_generate": 500, "threads": 1, "min_quality": 0.0, "min_tstr_ratio": 0.0,
            "min_dcr_protection_vs_holdout": 0.0, "min_dcr_overfitting_protection": 0.0,
            "max_exact_copy_rate": 1.0}
    run_id = stack.trigger("synthetic_data_generation", conf)
    victim = _wait_running(stack, "synthetic_data_generation", run_id, "train_generator")
    time.sleep(3)  # well inside training, before it can register anything
    index = 1 if victim.endswith("-worker1") else 2
    assert _kill_worker(stack, index) >= 2  # main process + at least the running task

    assert stack.wait_run("synthetic_data_generation", run_id, timeout=1200) == "success"
    tis = {t["task_id"]: t for t in stack.task_instances("synthetic_data_generation", run_id)}
    train = tis["train_generator"]
    assert train["try_number"] >= 2, train
    assert not train["hostname"].endswith(f"-worker{index}"), (victim, train["hostname"])
    assert tis["publish"]["state"] == "success"
    # Unpausing also created the latest scheduled (weekly) run; let every run finish, then each run
    # must have registered exactly one generator: the killed attempt left no half-registered version.
    runs = [r["dag_run_id"] for r in stack.request("GET", "dags/synthetic_data_generation/dagRuns")["dag_runs"]]
    for other in runs:
        stack.wait_run("synthetic_data_generation", other, timeout=1200)
    versions = list((stack.data / "lake" / "models" / "synthetic_customers_tvae" / "versions").iterdir())
    assert len(versions) == len(runs), (versions, runs)
    conn = psycopg2.connect(stack.env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"])
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*), count(DISTINCT customer_id), sum(CASE WHEN is_synthetic THEN 0 ELSE 1 END) "
                    "FROM customers_augmented")
        total, distinct, real_rows = cur.fetchone()
    finally:
        conn.close()
    # No duplicates, every real customer once; the synthetic part is the last publishing run's sample.
    assert total == distinct and real_rows == 2_000, (total, distinct, real_rows)
