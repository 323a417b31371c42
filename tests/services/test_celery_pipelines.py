"""Pipelines run through the scheduler on Postgres + Celery with two workers (not dag.test()).

Tasks of one run land on different worker processes, so a task that relied on another task's
local temp files or in-memory state would fail here. The warehouse is Postgres (connection swap).
"""

from __future__ import annotations

import collections
import json
import time
import urllib.parse
from pathlib import Path

import pendulum
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
    _record(stack, "seed_demo_data", run_id)


# ------------------------------------------------------------------ every other pipeline, through the scheduler
def _sql(stack: CeleryStack, statement: str, params: tuple = ()):
    """Rows from the Postgres warehouse (the stack's ``warehouse_default``), read with psycopg2."""
    import psycopg2

    conn = psycopg2.connect(stack.env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"])
    try:
        cur = conn.cursor()
        cur.execute(statement, params)
        return cur.fetchall()
    finally:
        conn.close()


def _states(stack: CeleryStack, dag_id: str, run_id: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = collections.defaultdict(list)
    for ti in stack.task_instances(dag_id, run_id):
        out[ti["task_id"]].append(ti["state"])
    return dict(out)


RUNS_RECORD = Path(__file__).resolve().parents[2] / "artifacts" / "services" / "celery_runs.json"
WORKERS_SEEN: set[str] = set()


def _record(stack: CeleryStack, dag_id: str, run_id: str) -> None:
    """Append what one run needed (wall time, workers used, task retries) to the suite's artifact."""
    run = stack.request("GET", f"dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")
    tis = stack.task_instances(dag_id, run_id)
    start, end = pendulum.parse(run["start_date"]), pendulum.parse(run["end_date"])
    entry = {"dag_id": dag_id, "run_id": run_id, "state": run["state"],
             "wall_s": round((end - start).total_seconds(), 1),
             "workers": sorted({t["hostname"].rsplit("-", 1)[-1] for t in tis if t.get("hostname")}),
             "task_instances": len(tis),
             "task_retries": {k: v for k, v in stack.retries(dag_id, run_id).items() if v}}
    if dag_id != "seed_demo_data":
        WORKERS_SEEN.update(entry["workers"])
    RUNS_RECORD.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(RUNS_RECORD.read_text()) if RUNS_RECORD.exists() else []
    RUNS_RECORD.write_text(json.dumps([r for r in runs if r["run_id"] != run_id or r["dag_id"] != dag_id]
                                      + [entry], indent=2) + "\n")


def _ensure_seeded(stack: CeleryStack) -> str:
    """The demo inputs of today (seed_demo_data's run date when triggered without a logical date)."""
    import pendulum

    if not (stack.data / "lake" / "raw" / "customers" / "customers.parquet").exists():
        run_id, state = stack.run_once("seed_demo_data", {"customer_rows": 2_000, "feedback_per_day": 100})
        assert state == "success"
    return pendulum.now("UTC").date().isoformat()


@pytest.mark.timeout(2400)  # training on a loaded 2-core machine
def test_sentiment_trains_scores_and_reports_into_postgres(stack):
    """train_sentiment_model → customer_sentiment_analysis on two workers, warehouse on Postgres."""
    from tests.e2e.sentiment_fixtures import FAST_TRAIN_CONF

    day = _ensure_seeded(stack)
    train_id, state = stack.run_once("train_sentiment_model", FAST_TRAIN_CONF, timeout=1500)
    assert state == "success", _states(stack, "train_sentiment_model", train_id)
    _record(stack, "train_sentiment_model", train_id)
    champion = json.loads((stack.data / "lake" / "models" / "sentiment" / "aliases.json").read_text())["champion"]

    conf = {"chunk_size": 64, "batch_size": 32, "threads": 1, "max_tokens": 64}
    run_id, state = stack.run_once("customer_sentiment_analysis", conf)
    states = _states(stack, "customer_sentiment_analysis", run_id)
    assert state == "success", states
    _record(stack, "customer_sentiment_analysis", run_id)
    assert len(states["score_chunk"]) >= 2 and set(states["score_chunk"]) == {"success"}
    assert states["llm_classify"] == ["skipped"]
    assert len(_hosts(stack, "customer_sentiment_analysis", run_id)) >= 1

    ok = _sql(stack, "SELECT count(*) FROM feedback_clean WHERE ingest_date = %s AND status = 'ok'", (day,))[0][0]
    rows = _sql(stack, "SELECT count(*), count(DISTINCT feedback_id), min(model_version), max(model_version) "
                       "FROM sentiment_results WHERE feedback_date = %s", (day,))[0]
    assert ok > 0 and rows[0] == rows[1] == ok, (ok, rows)  # every scorable row once, no duplicates
    assert rows[2] == rows[3] == f"sentiment/{champion}"
    report = _sql(stack, "SELECT count(*) FROM sentiment_daily_report WHERE report_date = %s", (day,))[0][0]
    assert report >= 1
    assert (stack.data / "lake" / "reports" / "sentiment" / day / "report.md").exists()


def test_cost_report_into_postgres(stack):
    day = _ensure_seeded(stack)
    run_id, state = stack.run_once("cloud_cost_report")
    assert state == "success", _states(stack, "cloud_cost_report", run_id)
    _record(stack, "cloud_cost_report", run_id)
    # FOCUS's mixed-case names are unquoted in our DDL: Postgres folds them, SQL reads them as written.
    by_source = dict(_sql(stack, "SELECT x_Source, count(*) FROM focus_costs GROUP BY 1"))
    assert by_source["focus_files"] == 35 * 10, by_source
    # Platform costs come from this stack's own REST API: task durations of the runs above.
    platform_dags = {r[0] for r in _sql(stack, "SELECT DISTINCT x_DagId FROM focus_costs "
                                               "WHERE x_Source = 'airflow_platform'")}
    assert "seed_demo_data" in platform_dags, platform_dags
    dupes = _sql(stack, "SELECT x_Source, ChargePeriodStart, x_RowKey FROM focus_costs "
                        "GROUP BY 1, 2, 3 HAVING count(*) > 1")
    assert dupes == []
    folder = stack.data / "lake" / "reports" / "cost" / day
    assert {"report.md", "summary.json", "daily_by_provider.png"} <= {p.name for p in folder.iterdir()}


@pytest.mark.timeout(1800)
def test_retraining_promotes_then_canary_deploys_on_two_workers(stack):
    """adaptive_retraining on today's drifted batch (first model: the gate promotes it), then
    canary_deploy with its embedded model servers, router and load generator: processes started by
    one task and analysed, stopped by others, possibly on the other worker (same host here)."""
    day = _ensure_seeded(stack)
    conf = {"n_calls": 3, "n_initial_points": 2, "bootstrap_samples": 300, "max_search_rounds": 1,
            "search_space": {"max_iter": [30, 120]}}
    run_id, state = stack.run_once("adaptive_retraining", conf)
    states = _states(stack, "adaptive_retraining", run_id)
    assert state == "success", states
    _record(stack, "adaptive_retraining", run_id)
    assert states["tune_challenger"] == ["success"] and states["skip_retraining"] == ["skipped"]
    assert states["analytics"] == ["success"]
    aliases = json.loads((stack.data / "lake" / "models" / "churn" / "aliases.json").read_text())
    scored = _sql(stack, "SELECT DISTINCT model_version FROM churn_scores WHERE run_date = %s", (day,))
    assert scored == [(aliases["champion"],)]

    canary = {"bake_seconds": 1, "min_requests": 20, "max_step_seconds": 60, "load_rps": 80, "load_concurrency": 4,
              "recorded_requests": 200, "challenger_error_rate": 0.0, "challenger_added_latency_ms": 0.0}
    run_id, state = stack.run_once("canary_deploy", canary)
    states = _states(stack, "canary_deploy", run_id)
    assert state == "success", states
    _record(stack, "canary_deploy", run_id)
    assert states["stop_stack"] == ["success"] and states["record_outcome"] == ["success"]
    canary_aliases = json.loads((stack.data / "lake" / "models" / "canary_demo" / "aliases.json").read_text())
    assert canary_aliases == {"champion": "2", "previous": "1"}
    report = stack.data / "lake" / "reports" / "canary" / day / "canary_demo-v2"
    assert "Decision: promote" in (report / "report.md").read_text()
    teardown = json.loads((report / "teardown.json").read_text())
    assert all(not s["alive"] and not s["port_in_use"] for s in teardown["stopped"]), teardown


def test_autoscaling_monitor_dry_run_records_its_decision(stack):
    _ensure_seeded(stack)
    run_id, state = stack.run_once("autoscaling_monitor", {"dry_run": True})
    assert state == "success", _states(stack, "autoscaling_monitor", run_id)
    _record(stack, "autoscaling_monitor", run_id)
    rows = _sql(stack, "SELECT status, dry_run, desired_replicas, explanation FROM scaling_decisions "
                       "WHERE run_id = %s", (run_id,))
    # "unchanged" when the scheduled run that unpausing created already scaled to the same size.
    assert len(rows) == 1 and rows[0][0] in ("dry_run", "unchanged") and rows[0][1] in (True, 1), rows
    assert "decision:" in rows[0][3]


def test_pipelines_ran_on_both_workers(stack):
    """Across the pipeline runs above (seeding aside), tasks landed on both workers, so a task that
    needed another task's local temp files or process state would have met a worker without them."""
    assert WORKERS_SEEN >= {"worker1", "worker2"}, WORKERS_SEEN


# ------------------------------------------------------------------ worker loss (last: it kills a worker)
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
    _ensure_seeded(stack)
    conf = {"epochs": 150, "rows_to_generate": 500, "threads": 1, "min_quality": 0.0, "min_tstr_ratio": 0.0,
            "min_dcr_protection_vs_holdout": 0.0, "min_dcr_overfitting_protection": 0.0,
            "max_exact_copy_rate": 1.0}
    run_id = stack.trigger("synthetic_data_generation", conf)
    victim = _wait_running(stack, "synthetic_data_generation", run_id, "train_generator")
    time.sleep(3)  # well inside training, before it can register anything
    index = 1 if victim.endswith("-worker1") else 2
    assert _kill_worker(stack, index) >= 2  # main process + at least the running task

    state = stack.wait_run("synthetic_data_generation", run_id, timeout=1200)
    tis = {t["task_id"]: t for t in stack.task_instances("synthetic_data_generation", run_id)}
    assert state == "success", (victim, {k: (t["state"], t["try_number"], t["hostname"]) for k, t in tis.items()})
    train = tis["train_generator"]
    assert train["try_number"] >= 2, train
    assert not train["hostname"].endswith(f"-worker{index}"), (victim, train["hostname"])
    assert tis["publish"]["state"] == "success"
    _record(stack, "synthetic_data_generation", run_id)
    # Unpausing also created the latest scheduled (weekly) run; let every run finish, then each run
    # must have registered exactly one generator: the killed attempt left no half-registered version.
    runs = [r["dag_run_id"] for r in stack.request("GET", "dags/synthetic_data_generation/dagRuns")["dag_runs"]]
    for other in runs:
        stack.wait_run("synthetic_data_generation", other, timeout=1200)
    versions = list((stack.data / "lake" / "models" / "synthetic_customers_tvae" / "versions").iterdir())
    assert len(versions) == len(runs), (versions, runs)
    total, distinct, real_rows = _sql(stack, "SELECT count(*), count(DISTINCT customer_id), "
                                             "sum(CASE WHEN is_synthetic THEN 0 ELSE 1 END) FROM customers_augmented")[0]
    # No duplicates, every real customer once; the synthetic part is the last publishing run's sample.
    assert total == distinct and real_rows == 2_000, (total, distinct, real_rows)
