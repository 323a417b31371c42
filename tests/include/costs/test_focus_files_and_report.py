"""FOCUS files from the lake (with a malformed row) and the Markdown/PNG report with unit economics."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from include.costs import anomaly, focus, report
from include.costs.config import DEFAULT_UNIT_METRICS
from include.costs.sources import focus_files
from include.demo.writers import write_cost_exports
from include.platform import storage, warehouse

DAY = date(2026, 11, 22)


def test_focus_files_keep_the_window_and_quarantine_unreadable_rows(lake):
    write_cost_exports(DAY, days=35)
    path = storage.lake_path("raw", "costs", "focus", "aws", "focus-2026-11.csv")
    text = storage.read_text(path).splitlines()
    broken = text[1].split(",")
    header = text[0].split(",")
    broken[header.index("BilledCost")] = "twelve"
    storage.write_text(path, "\n".join([*text, ",".join(broken)]) + "\n")

    fetched = focus_files.fetch(date(2026, 11, 16), DAY)
    frame, quarantined = fetched.frame, fetched.quarantined
    assert sorted(frame["ChargePeriodStart"].dt.date.unique()) == [date(2026, 11, d) for d in range(16, 23)]
    assert len(frame) == 7 * 10
    assert len(quarantined) == 1
    assert "BilledCost='twelve' unreadable" in quarantined["reason"].iloc[0]
    assert quarantined["file"].iloc[0].endswith("aws/focus-2026-11.csv")
    assert quarantined["line"].iloc[0] == len(text) + 1  # the appended line
    # A bad row does not make its file unreadable: every provider was read in full.
    assert fetched.bad_files.empty and fetched.complete_providers == ["AWS", "Google Cloud", "Microsoft"]


def _platform_rows(dag_id: str, cost: float, runs: int) -> pd.DataFrame:
    rows = [{"ProviderName": "Airflow platform", "BillingAccountId": "genai", "ServiceName": "Airflow workers (CPU)",
             "ChargePeriodStart": pd.Timestamp(DAY, tz="UTC"), "ChargePeriodEnd": pd.Timestamp(DAY, tz="UTC")
             + pd.Timedelta(days=1), "BilledCost": cost, "x_DagId": dag_id, "x_DagRuns": runs,
             "ResourceId": f"airflow/{dag_id}"}]
    return focus.normalize(pd.DataFrame(rows), "airflow_platform")


def test_report_sections_charts_and_unit_economics(lake):
    from include.demo.costs import focus_rows

    rows = pd.concat([focus.normalize(focus_rows(DAY, days=35), "focus_files"),
                      _platform_rows("customer_sentiment_analysis", 3.0, 2),
                      _platform_rows("adaptive_retraining", 8.0, 4),
                      _platform_rows("synthetic_data_generation", 2.0, 1)], ignore_index=True)
    # The sentiment DAG's output table with a date column: 1,500 predictions in the window, 10 outside.
    warehouse.replace_rows("sentiment_results", pd.DataFrame({
        "feedback_id": range(1510),
        "scored_at": pd.to_datetime([f"{DAY.isoformat()} 08:00"] * 1500 + ["2026-10-01 08:00"] * 10)}),
        ["feedback_id"])
    # The synthetic DAG's augmented table: 400 synthetic rows of today's batch next to 1,000 real ones.
    warehouse.replace_rows("customers_augmented", pd.DataFrame({
        "customer_id": range(1400), "is_synthetic": [True] * 400 + [False] * 1000,
        "augmentation_batch": DAY.isoformat()}), ["customer_id"])
    daily = anomaly.daily_by_service(rows)
    result = anomaly.detect(daily, DAY)

    out = report.write_report(DAY, rows, budget=1000.0, anomaly=result, unit_specs=DEFAULT_UNIT_METRICS,
                              load={"sources": {"focus_files": {"rows": 350, "quarantined": 0}},
                                    "validation": "63 expectations, all passed"})

    folder = lake / "lake" / "reports" / "cost" / DAY.isoformat()
    assert {p.name for p in folder.iterdir()} == {"report.md", "summary.json", "daily_by_provider.png",
                                                  "top_services.png", "top_movers.png"}
    assert all((folder / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in out["charts"])
    md = (folder / "report.md").read_text()
    for section in ("## Cost by provider", "## Cost by service (day)", "## Top movers", "## Month-end forecast",
                    "## ML unit economics", "Amazon SageMaker"):
        assert section in md
    units = {u["metric"]: u for u in out["unit_economics"]}
    assert units["cost per 1,000 predictions"]["units"] == 1500
    assert units["cost per 1,000 predictions"]["unit_cost"] == pytest.approx(3.0 / 1500 * 1000)
    assert units["cost per retraining run"]["unit_cost"] == pytest.approx(8.0 / 4)
    assert units["cost per synthetic row"]["units"] == 400
    assert units["cost per synthetic row"]["unit_cost"] == pytest.approx(2.0 / 400)
    assert out["top_movers"][0]["ServiceName"] == "Amazon SageMaker"


def test_unit_economics_degrade_when_output_tables_do_not_exist_yet(lake):
    frame = report.cost_days(_platform_rows("customer_sentiment_analysis", 3.0, 2), "BilledCost")
    units = {u["metric"]: u for u in report.unit_economics(frame, DAY, DEFAULT_UNIT_METRICS)}
    assert units["cost per 1,000 predictions"]["unit_cost"] is None
    assert units["cost per 1,000 predictions"]["counted"] == "table sentiment_results does not exist yet"
    assert units["cost per retraining run"]["counted"].startswith("no task durations")
    bad = report.unit_economics(frame, DAY, [{"name": "x", "dag_id": "d", "table": "t; DROP TABLE focus_costs"}])
    assert "invalid identifier" in bad[0]["counted"]


def test_month_end_forecast_on_a_flat_series():
    days = pd.date_range("2026-10-01", "2026-11-22", freq="D")
    frame = pd.DataFrame({"day": [d.date() for d in days], "cost": 100.0})
    fc = report.month_end_forecast(frame, DAY)
    assert fc == {"month": "2026-11", "month_to_date": 2200.0, "remaining_days": 8, "forecast_remaining": 800.0,
                  "forecast_month_end": 3000.0}


def test_forecast_follows_the_weekly_pattern():
    days = pd.date_range("2026-10-01", "2026-11-22", freq="D")
    frame = pd.DataFrame({"day": [d.date() for d in days], "cost": [50.0 if d.weekday() >= 5 else 100.0 for d in days]})
    fc = report.month_end_forecast(frame, DAY)  # 23-30 Nov: Mon-Fri ×2 weeks... 6 weekdays, 2 weekend days
    assert fc["forecast_remaining"] == 6 * 100.0 + 2 * 50.0
