"""The lake on an S3 that fails requests: storage tasks retry and finish, and we record how often.

The lake is switched to ``s3://<bucket>/<fresh prefix>`` by configuration only (the ``AIRFLOW_VAR_*``
and ``AIRFLOW_CONN_*`` env vars a deployment sets), through :class:`FlakyS3Proxy` in front of the moto
server: a seeded 20 % of requests get ``503 SlowDown`` or ``500 InternalError`` back, the way S3
throttles. ``seed_demo_data`` then ``cloud_cost_report`` run under ``dag.test()`` (which honours task
retries) and their outcomes are checked as in the e2e tests, but from the outside: objects through
the provider's S3Hook on a connection straight to moto (not through the proxy), rows in the
warehouse, alerts in an SMTP sink.

Two retry layers can absorb a failed request: the client's (botocore's retry budget, then s3fs's
own retries of SlowDown) inside one task try, and Airflow's task retries around it. Per run, the
figures of both are written to ``artifacts/faults/s3_lake_retries.json``:

* ``client_retries``: requests the proxy failed; each one was sent again by the client (checked);
* ``task_retries``: sum over the run's task instances of ``try_number - 1`` (metadata DB).

Cases: the connection's default budget (botocore ``legacy`` mode, 5 attempts), a raised budget set
the way a user would, in the connection extra (``config_kwargs``), and an outage longer than the
client's budget, which only Airflow's task retry gets past.
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.fixtures.emulators import s3_lake_on
from tests.fixtures.flaky_proxy import flaky_aws_conn, flaky_s3  # noqa: F401 - fixtures used by name

pytestmark = [pytest.mark.emulator, pytest.mark.slow, pytest.mark.usefixtures("airflow_db")]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "artifacts" / "faults" / "s3_lake_retries.json"
BUCKET = "genai-lake-faults"
SEED_CONF = {"customer_rows": 1_000, "feedback_per_day": 200,  # as in tests/e2e (3 days, 25 pending requests)
             "allow_other_lake": True}  # seeding a non-default lake is opt-in
# airflow_platform is left out: it reads Airflow's REST API, not the lake (and there is none here).
COST_CONF = {"sources": ["focus_files", "aws_cost_explorer"]}
# total_max_attempts counts the first request; botocore's Config "max_attempts" counts retries only (N + 1 tries).
RAISED_BUDGET = {"retries": {"mode": "standard", "total_max_attempts": 10}}
# A distinct logical date per case: each case gets its own DAG runs (and try numbers) in the session DB.
CASES = {
    "default_budget": (None, pendulum.datetime(2026, 11, 22, tz="UTC")),
    "raised_budget": (RAISED_BUDGET, pendulum.datetime(2026, 11, 20, tz="UTC")),
}
# Request 3 starts an outage of 5 straight 500s: exactly the default budget's 5 attempts of one call,
# and s3fs does not retry InternalError itself, so that task try fails and Airflow retries it (10 s
# later); the raised budget's 10 attempts ride it out inside the call.
OUTAGE = {"fail_rate": 0.0, "bursts": [(3, 5, "InternalError")]}
OUTAGE_CASES = {  # config_kwargs, logical date, task retries expected
    "outage_5x500_default_budget": (None, pendulum.datetime(2026, 11, 18, tz="UTC"), 1),
    "outage_5x500_raised_budget": (RAISED_BUDGET, pendulum.datetime(2026, 11, 17, tz="UTC"), 0),
}


@pytest.fixture
def bucket(aws_conn: str):
    """The lake bucket, created straight on moto (S3 has no implicit buckets), and a hook that reads it."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=aws_conn)
    if not hook.check_for_bucket(BUCKET):
        hook.create_bucket(BUCKET)
    return hook


def _lake_on(conn_id: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return s3_lake_on(conn_id, BUCKET, monkeypatch)[1]


def _tries(dag_id: str, run_id: str) -> dict[str, int]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        tis = s.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id).all()
        return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.try_number for ti in tis}


def _states(dag_id: str, run_id: str) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        tis = s.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id).all()
        return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.state for ti in tis}


def _run(dagbag, dag_id: str, proxy, **test_kwargs) -> tuple[Any, dict[str, Any]]:
    """``dag.test()`` one run; return it and the retries each layer needed for it."""
    dag = dagbag.get_dag(dag_id)
    since = proxy.request_count
    started = time.monotonic()
    run = dag.test(**test_kwargs)
    wall = time.monotonic() - started
    faults = proxy.stats(since=since)
    tries = _tries(dag_id, run.run_id)
    figures = {
        "dag_id": dag_id, "logical_date": run.logical_date.isoformat(), "state": str(run.state),
        "wall_s": round(wall, 1),
        "s3_requests": faults["requests"],
        "client_retries": faults["injected"],
        "client_retries_by_code": faults["injected_by_code"],
        "client_retries_by_method": faults["injected_by_method"],
        "retry_wait_s": faults["retry_wait_s"],
        "retry_wait_max_s": faults["retry_wait_max_s"],
        "task_retries": sum(t - 1 for t in tries.values()),
        "tasks_retried": {task: t - 1 for task, t in sorted(tries.items()) if t > 1},
        "_faults": faults,
    }
    return run, figures


def _record(case: str, settings: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """Merge this case's figures into the artifact (one entry per case, the latest run of each)."""
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    data.setdefault("cases", {})[case] = {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"), **settings,
        "runs": [{k: v for k, v in r.items() if not k.startswith("_")} for r in runs],
    }
    ARTIFACT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n{case}: " + json.dumps(data["cases"][case], indent=2))


def _assert_retried_by_the_client(figures: dict[str, Any]) -> None:
    faults = figures["_faults"]
    assert faults["injected"] > 0, f"no fault injected in {figures['dag_id']}: the lake did not go through the proxy"
    # Every failed request was sent again (by botocore / s3fs, or by the task's retry): none was given up on.
    assert faults["not_retried"] == [], faults["not_retried"]
    assert faults["injected_then_retried"] == faults["injected"]


def _assert_seeded(hook, prefix: str, day: pendulum.DateTime) -> None:
    """seed_demo_data's outputs, read from the bucket with the provider's hook straight on moto."""
    import pandas as pd

    def keys(sub: str) -> list[str]:
        return sorted(k[len(prefix) + 1:] for k in hook.list_keys(BUCKET, prefix=f"{prefix}/{sub}"))

    def get(key: str) -> bytes:
        return hook.get_key(f"{prefix}/{key}", BUCKET).get()["Body"].read()

    days = [day.subtract(days=n).date().isoformat() for n in (2, 1, 0)]
    d0, d1 = days[1:]
    assert keys("raw/feedback/") == [f"raw/feedback/{d}/export-{d}.jsonl" for d in days]
    assert len(get(f"raw/feedback/{d1}/export-{d1}.jsonl").decode().splitlines()) >= SEED_CONF["feedback_per_day"]
    customers = pd.read_parquet(io.BytesIO(get("raw/customers/customers.parquet")))
    assert customers.shape == (SEED_CONF["customer_rows"], 12)
    assert {k.split("/")[2] for k in keys("raw/features/")} == {"reference", d0, d1}
    assert len([k for k in keys("raw/costs/focus/") if k.endswith(".csv")]) == 6
    assert len([k for k in keys("raw/requests/pending/") if k.endswith(".json")]) == 25
    trace = pd.read_parquet(io.BytesIO(get(f"raw/metrics/trace-{d1}.parquet")))
    assert len(trace) == 48 * 4


def _html(message) -> str:
    return "".join(part.get_payload(decode=True).decode() for part in message.walk()
                   if part.get_content_type() == "text/html")


@pytest.mark.parametrize("case", sorted(CASES))
def test_seed_and_cost_report_finish_on_an_s3_failing_one_request_in_five(
        case, dagbag, lake, bucket, flaky_s3, flaky_aws_conn, smtp_sink, monkeypatch):  # noqa: F811 - fixtures
    from include.platform import storage, warehouse

    config_kwargs, day = CASES[case]
    conn_id = flaky_aws_conn(config_kwargs)
    prefix = _lake_on(conn_id, monkeypatch)
    fs = storage.lake_root().fs
    assert type(fs).__name__ == "S3FileSystem" and fs.endpoint_url == flaky_s3.url

    seed_run, seeded = _run(dagbag, "seed_demo_data", flaky_s3, logical_date=day, run_conf=SEED_CONF)
    cost_run, costed = _run(dagbag, "cloud_cost_report", flaky_s3, logical_date=day, run_conf=COST_CONF)
    _record(case, {"fail_rate": flaky_s3.fail_rate, "internal_error_share": flaky_s3.internal_error_share,
                   "connection_config_kwargs": config_kwargs,
                   "client_budget": "botocore standard mode, 10 attempts per call" if config_kwargs else
                                    "connection default: botocore legacy mode, 5 attempts per call",
                   "s3fs_outer_retries": "5 tries of a call whose last error is SlowDown (not InternalError)"},
            [seeded, costed])

    assert seed_run.state == "success", _states("seed_demo_data", seed_run.run_id)
    assert cost_run.state == "success", _states("cloud_cost_report", cost_run.run_id)
    # The budget set in the connection extra reached the botocore client every task used.
    assert fs.s3.meta.config.retries == (RAISED_BUDGET["retries"] if config_kwargs else {"mode": "legacy"})
    for figures in (seeded, costed):
        _assert_retried_by_the_client(figures)
        if config_kwargs:
            # 10 attempts per call: the client layer absorbs every fault (a call fails with p = 0.2^10).
            # The default 5 attempts usually do too, but a call that meets 5 faults in a row (p = 0.2^5,
            # and s3fs adds no retry of InternalError or a bodyless 503 on HEAD) fails its task try there.
            assert figures["task_retries"] == 0, figures["tasks_retried"]

    _assert_seeded(bucket, prefix, day)

    # cloud_cost_report read the seeded FOCUS exports from the flaky bucket and loaded all 35 days.
    rows = warehouse.query("SELECT COUNT(*) AS n FROM focus_costs WHERE x_Source = 'focus_files'")
    assert rows["n"][0] == 35 * 10
    folder = f"{prefix}/reports/cost/{day.date().isoformat()}"
    names = {k.rsplit("/", 1)[1] for k in bucket.list_keys(BUCKET, prefix=f"{folder}/")}
    assert {"report.md", "summary.json", "daily_by_provider.png"} <= names
    md = bucket.read_key(f"{folder}/report.md", BUCKET)
    assert "FOCUS 1.2 validation:" in md and "all passed" in md
    assert "| focus_files | ok | 350 | 0 |" in md
    assert "| aws_cost_explorer | skipped: add connection aws_cost_explorer (type aws) |" in md
    summary = json.loads(bucket.read_key(f"{folder}/summary.json", BUCKET))
    assert summary["budget"] == 1000.0 and summary["total"] > 1000.0
    assert summary["anomaly"]["is_anomaly"] is True
    # Over budget and anomalous (the seeded SageMaker spike): both alerts delivered, naming the driver.
    subjects = [m["Subject"] for m in smtp_sink.messages]
    assert len(subjects) == 2, subjects
    budget_mail = next(m for m in smtp_sink.messages if "exceeds the daily budget" in m["Subject"])
    assert "Driver: Amazon SageMaker (AWS)" in _html(budget_mail)
    assert any("Cost anomaly" in s and "Amazon SageMaker" in s for s in subjects)


@pytest.mark.parametrize("flaky_s3", [OUTAGE], indirect=True)
@pytest.mark.parametrize("case", sorted(OUTAGE_CASES))
def test_an_outage_longer_than_the_client_budget_costs_a_task_retry_and_the_run_still_finishes(
        case, dagbag, lake, bucket, flaky_s3, flaky_aws_conn, monkeypatch):  # noqa: F811 - fixtures
    config_kwargs, day, expected_task_retries = OUTAGE_CASES[case]
    prefix = _lake_on(flaky_aws_conn(config_kwargs), monkeypatch)

    run, figures = _run(dagbag, "seed_demo_data", flaky_s3, logical_date=day, run_conf=SEED_CONF)
    _record(case, {"fail_rate": 0.0, "bursts": OUTAGE["bursts"], "connection_config_kwargs": config_kwargs},
            [figures])

    assert run.state == "success", _states("seed_demo_data", run.run_id)
    _assert_retried_by_the_client(figures)
    assert figures["client_retries_by_code"] == {"InternalError": 5}
    # Default: the call met 5 failures in its 5 attempts, its task failed that try and Airflow retried
    # it. Raised: the call's 6th attempt went through; no task noticed.
    assert figures["task_retries"] == expected_task_retries, figures["tasks_retried"]
    _assert_seeded(bucket, prefix, day)
