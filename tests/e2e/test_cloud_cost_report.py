"""End to end: cloud_cost_report under dag.test() with a real Airflow API server and a real SMTP sink.

The platform source reads task durations from a real ``airflow api-server`` started on this test
session's metadata DB (the seed_demo_data run provides finished task instances); FOCUS exports come
from the demo writers; alerts go through the SMTP notifier to an aiosmtpd server on loopback.
"""

from __future__ import annotations

import json

import pandas as pd
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
    # The day's totals ride on the cost_report event (the Assets view answers "what did we spend").
    from tests.e2e.asset_events import run_events

    (event,) = run_events(run.run_id, "cost_report")
    summary = json.loads((folder / "summary.json").read_text())
    assert (event["day"], event["total"], event["budget"]) == (DAY.date().isoformat(), summary["total"], 1000)
    assert event["anomaly"] is True and event["anomaly_driver"] == "Amazon SageMaker"
    assert event["report"].endswith("reports/cost/" + DAY.date().isoformat() + "/report.md")

    # The per-day FOCUS export: one CSV per charge day of the loaded window, every FOCUS 1.2 column.
    from include.costs.export import EXPORT_COLUMNS

    export = lake / "lake" / "curated" / "focus"
    assert len(list(export.glob("*.csv"))) == 35
    day_csv = export / f"{DAY.date().isoformat()}.csv"
    exported = pd.read_csv(day_csv)
    assert list(exported.columns) == list(EXPORT_COLUMNS)
    assert (exported["x_Source"] == "focus_files").sum() == 10
    assert "cloud_cost_report" in set(exported.loc[exported["x_Source"] == "airflow_platform", "x_DagId"])
    assert exported.loc[exported["x_Source"] == "focus_files", "PricingQuantity"].notna().all()
    exported_before = exported[exported["x_Source"] == "focus_files"].to_csv(index=False)

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
    rerun = pd.read_csv(day_csv)  # the day's export was overwritten: same FOCUS rows, nothing appended
    assert rerun[rerun["x_Source"] == "focus_files"].to_csv(index=False) == exported_before
    assert len(rerun) == len(exported)


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


# -- bad input: one bad file never stops the others; restatements replace, not add ------------------
def _raw(rel: str, data: bytes) -> None:
    from include.platform import storage

    storage.write_bytes(storage.lake_path("raw", "costs", "focus", *rel.split("/")), data)


def test_bad_focus_files_are_quarantined_by_name_and_every_good_row_loads(dagbag, lake, airflow_api_server,
                                                                          monkeypatch):
    from include.demo.costs import focus_rows
    from include.platform import warehouse
    from include.platform.quarantine import read_rejected

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", airflow_api_server["url"])
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", airflow_api_server["jwt_secret"])
    rows = focus_rows(DAY.date(), days=35)
    aws = rows[rows["ProviderName"] == "AWS"]
    _raw("aws/focus-good.csv", aws.to_csv(index=False).encode())
    gcp = rows[rows["ProviderName"] == "Google Cloud"].astype(object).reset_index(drop=True)
    gcp.loc[0, "BilledCost"], gcp.loc[1, "BilledCost"] = "inf", "1e309"
    _raw("google-cloud/focus-nonfinite.csv", gcp.to_csv(index=False).encode())
    lines = aws.to_csv(index=False).splitlines()
    _raw("microsoft/empty.csv", b"")
    _raw("microsoft/ragged.csv", "\n".join([lines[0], lines[1], lines[2] + ",1"]).encode())
    _raw("microsoft/latin1.csv", "\n".join([lines[0], lines[1].replace("Amazon", "Caf\u00e9")]).encode("latin-1"))

    run = dagbag.get_dag("cloud_cost_report").test(logical_date=DAY)
    assert run.state == "success", _task_states(run)

    day = DAY.date().isoformat()
    quarantine = lake / "lake" / "quarantine" / "costs" / day
    files = read_rejected("costs", DAY.date(), "focus_files-files")
    reasons = {f["source_file"].rsplit("/", 1)[-1]: f["reason"] for f in files}
    assert reasons == {"empty.csv": "empty file (0 bytes)",
                       "latin1.csv": reasons["latin1.csv"], "ragged.csv": reasons["ragged.csv"]}
    assert reasons["ragged.csv"].startswith("ragged CSV: line 3 has")
    assert reasons["latin1.csv"].startswith("not UTF-8: byte 0xe9 at byte offset")
    assert all((quarantine / "files" / "microsoft" / n).exists() for n in reasons)  # copies as delivered

    # Count in == rows out: every AWS row, every finite Google row; inf and 1e309 quarantined by rule.
    loaded = warehouse.query("SELECT ProviderName, COUNT(*) AS n FROM focus_costs WHERE x_Source = 'focus_files' "
                             "GROUP BY ALL ORDER BY 1")
    assert loaded.set_index("ProviderName")["n"].to_dict() == {"AWS": len(aws), "Google Cloud": len(gcp) - 2}
    rejected = read_rejected("costs", DAY.date(), "focus-validation")
    assert len(rejected) == 2
    assert all("expect_column_values_to_be_between(BilledCost)" in r["reason"] for r in rejected)
    assert {r["BilledCost"] for r in rejected} == {"inf"}  # 1e309 parses as inf too; kept readable in JSON
    assert all(r["source_file"].endswith(f"curated/costs/{day}/staging/focus_files.parquet") for r in rejected)
    md = (lake / "lake" / "reports" / "cost" / day / "report.md").read_text()
    assert "| focus_files | partial: 3 file(s) quarantined |" in md
    assert "ragged.csv`: ragged CSV: line 3" in md and "empty.csv`: empty file (0 bytes)" in md


def test_rerun_with_a_restated_export_keeps_one_row_per_key_and_the_new_tags(dagbag, lake, airflow_api_server,
                                                                             monkeypatch):
    import pandas as pd

    from include.costs.sources import focus_files
    from include.demo.writers import write_cost_exports
    from include.platform import storage, warehouse

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_AIRFLOW_API_URL", airflow_api_server["url"])
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", airflow_api_server["jwt_secret"])
    write_cost_exports(DAY.date())
    dag = dagbag.get_dag("cloud_cost_report")
    assert dag.test(logical_date=DAY).state == "success"
    for path in focus_files.export_files():  # the providers restate the period: tags backfilled
        frame = pd.read_csv(path.open("rb"))
        frame["Tags"] = '{"team": "ml-platform", "pipeline": "genai", "cost_center": "4711"}'
        storage.write_bytes(path, frame.to_csv(index=False).encode())

    assert dag.test(logical_date=DAY).state == "success"
    rows = warehouse.query("SELECT Tags, COUNT(*) AS n FROM focus_costs WHERE x_Source = 'focus_files' GROUP BY ALL")
    assert rows.to_dict("records") == [{"Tags": '{"cost_center": "4711", "pipeline": "genai", "team": "ml-platform"}',
                                        "n": 35 * 10}]
    dupes = warehouse.query("SELECT x_Source, ChargePeriodStart, x_RowKey FROM focus_costs GROUP BY ALL "
                            "HAVING COUNT(*) > 1")
    assert dupes.empty, dupes.head()
