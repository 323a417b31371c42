"""End to end: cloud_cost_report under dag.test() with a real Airflow API server and a real SMTP sink.

The platform source reads task durations from a real ``airflow api-server`` started on this test
session's metadata DB (the seed_demo_data run provides finished task instances); FOCUS exports come
from the demo writers; alerts go through the SMTP notifier to an aiosmtpd server on loopback.
"""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pendulum
import pytest
import requests

from tests.fixtures.emulators import BIN, free_port

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.slow]

DAY = pendulum.today("UTC")  # task durations are attributed to the day tasks ran: today under dag.test()


@pytest.fixture(scope="module")
def airflow_api_server(airflow_db) -> Iterator[str]:
    """``airflow api-server`` on a free port, same AIRFLOW_HOME/DB, no login (all admins); stopped after."""
    port = free_port()
    env = dict(os.environ, AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
               AIRFLOW__API_AUTH__JWT_SECRET=os.environ.get("AIRFLOW__API_AUTH__JWT_SECRET", "cost-report-e2e"))
    log = open(os.path.join(str(airflow_db), "api-server.log"), "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([str(BIN / "airflow"), "api-server", "--port", str(port), "--host", "127.0.0.1",
                             "--apps", "core", "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"api-server exited with {proc.returncode}; see {log.name}")
            try:
                if requests.get(f"{url}/auth/token", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"api-server not ready after 120 s; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        # Its own session: stop the whole process group (uvicorn workers included).
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def smtp_sink(monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    class Collect(Sink):
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            self.messages.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_ALERTS", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": controller.port, "login": "", "password": "",
        "extra": {"disable_tls": True, "disable_ssl": True}}))
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALERT_EMAILS", "finops@example.com")
    try:
        yield handler
    finally:
        controller.stop()


def _html(message) -> str:
    return "".join(part.get_payload(decode=True).decode() for part in message.walk()
                   if part.get_content_type() == "text/html")


def _task_states(run) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        return {f"{ti.task_id}[{ti.rendered_map_index or ti.map_index}]": ti.state
                for ti in s.query(TaskInstance).filter_by(dag_id=run.dag_id, run_id=run.run_id)}


def test_budget_breach_alerts_names_the_driver_and_reruns_are_idempotent(dagbag, lake, airflow_api_server,
                                                                          smtp_sink, monkeypatch):
    from include.demo.writers import write_cost_exports
    from include.platform import warehouse

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", airflow_api_server)
    write_cost_exports(DAY.date())  # 35 days of FOCUS exports, spike on Amazon SageMaker today

    dag = dagbag.get_dag("cloud_cost_report")
    run = dag.test(logical_date=DAY)
    assert run.state == "success", _task_states(run)

    rows = warehouse.query("SELECT x_Source, x_DagId, COUNT(*) AS n, SUM(BilledCost) AS cost "
                           "FROM focus_costs GROUP BY ALL")
    by_source = rows.groupby("x_Source")["n"].sum().to_dict()
    assert by_source["focus_files"] == 35 * 10
    # Durations read through the real REST API: at extract time the run's own plan_sources task had
    # finished (dag.test runs tasks one by one and commits each state).
    platform = rows[rows["x_Source"] == "airflow_platform"]
    assert "cloud_cost_report" in set(platform["x_DagId"])
    # Other DAGs' runs in the same session DB are priced too; skipped tasks cost nothing.
    assert (platform["cost"] >= 0).all()
    assert platform.loc[platform["x_DagId"] == "cloud_cost_report", "cost"].sum() > 0

    # Over the $1,000 default budget and anomalous: both alerts delivered, each naming the driver.
    subjects = [m["Subject"] for m in smtp_sink.messages]
    assert len(subjects) == 2, subjects
    budget_mail = next(m for m in smtp_sink.messages if "exceeds the daily budget" in m["Subject"])
    assert "Amazon SageMaker" in budget_mail["Subject"]
    assert "Driver: Amazon SageMaker (AWS)" in _html(budget_mail)
    assert any("Cost anomaly" in s and "Amazon SageMaker" in s for s in subjects)
    assert smtp_sink.messages[0]["To"] == "finops@example.com"

    folder = lake / "lake" / "reports" / "cost" / DAY.date().isoformat()
    assert {"report.md", "summary.json", "daily_by_provider.png"} <= {p.name for p in folder.iterdir()}
    md = (folder / "report.md").read_text()
    assert "Airflow platform" in md and "FOCUS 1.2 validation:" in md and "all passed" in md
    assert "| aws_cost_explorer | skipped: add connection aws_cost_explorer (type aws) |" in md
    assert "| focus_files | ok | 350 | 0 |" in md

    # Rerun of the same date (dag.test reuses the run id, so the task instances are the rerun's):
    # same FOCUS rows, no duplicate keys, the platform row of this DAG replaced in place.
    before = warehouse.query("SELECT COUNT(*) AS n, SUM(BilledCost) AS c FROM focus_costs "
                             "WHERE x_Source = 'focus_files'")
    assert dag.test(logical_date=DAY).state == "success"
    after = warehouse.query("SELECT COUNT(*) AS n, SUM(BilledCost) AS c FROM focus_costs "
                            "WHERE x_Source = 'focus_files'")
    assert after.to_dict() == before.to_dict()
    dupes = warehouse.query("SELECT x_Source, ChargePeriodStart, x_RowKey, COUNT(*) AS n FROM focus_costs "
                            "GROUP BY ALL HAVING COUNT(*) > 1")
    assert dupes.empty, dupes.head()
    platform_after = warehouse.query("SELECT x_DagRuns, ConsumedQuantity FROM focus_costs "
                                     "WHERE x_Source = 'airflow_platform' AND x_DagId = 'cloud_cost_report'")
    assert len(platform_after) == 1  # replaced in place by key, not appended


def test_under_budget_and_normal_day_sends_no_alert(dagbag, lake, airflow_api_server, smtp_sink, monkeypatch):
    from include.demo.writers import write_cost_exports
    from include.platform import warehouse

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", airflow_api_server)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_COST_DAILY_BUDGET_USD", "5000")  # the Variable, not the Param
    write_cost_exports(DAY.date())  # spike is on DAY; the day before is ordinary
    yesterday = DAY.subtract(days=1)
    run = dagbag.get_dag("cloud_cost_report").test(logical_date=yesterday)
    assert run.state == "success", _task_states(run)
    assert smtp_sink.messages == []
    summary = json.loads((lake / "lake" / "reports" / "cost" / yesterday.date().isoformat()
                          / "summary.json").read_text())
    assert summary["budget"] == 5000.0 and 0 < summary["total"] < 5000
    assert summary["anomaly"]["is_anomaly"] is False
    assert warehouse.query("SELECT COUNT(*) AS n FROM focus_costs WHERE x_Source = 'focus_files'")["n"][0] == 34 * 10
