"""End to end: cloud_cost_report under dag.test() with a real Airflow API server and a real SMTP sink.

The platform source reads task durations from a real ``airflow api-server`` started on this test
session's metadata DB (the seed_demo_data run provides finished task instances); FOCUS exports come
from the demo writers; alerts go through the SMTP notifier to an aiosmtpd server on loopback.
"""

from __future__ import annotations

import json

import pendulum
import pytest

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.slow]

DAY = pendulum.today("UTC")  # task durations are attributed to the day tasks ran: today under dag.test()


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

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", airflow_api_server["url"])
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", airflow_api_server["jwt_secret"])
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
    assert smtp_sink.messages[0]["To"] == "ml-team@example.com"

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

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", airflow_api_server["url"])
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", airflow_api_server["jwt_secret"])
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
