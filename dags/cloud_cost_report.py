"""
### Cloud cost report: FOCUS-normalized multi-cloud costs, ML unit economics, budget and anomaly alerts

The article's `generate_cost_report` runs after the compute clean-up, asks Azure Cost Management for
the last day's cost grouped by resource type and alerts above a $1,000 daily threshold. This DAG
does that for every cloud *and* for our own Airflow workers, in one comparable format:

1. **extract** (one mapped task per source, skipped cleanly when its connection is absent):
   AWS Cost Explorer `GetCostAndUsage` by SERVICE and a tag (amazon provider hook), Azure Cost
   Management `query` (ActualCost by ResourceType, azure-core request + the azure provider's
   credential), GCP's BigQuery billing export (SQL via BigQueryHook), FOCUS exports dropped in the
   lake (`raw/costs/focus/<provider>/*.csv|parquet`), and the **embedded default**: task durations
   from Airflow's REST API × a rate card (Variable `genai_cost_rate_card`). Each source is mapped to
   **FOCUS 1.2** columns (BilledCost, EffectiveCost, ChargePeriodStart/End, ServiceName, ResourceType,
   RegionId, SubAccountId, Tags, `x_` extras) and staged as Parquet. A FOCUS file that cannot be
   parsed (empty, ragged, not UTF-8, broken Parquet) is quarantined *by name* with line/byte offset
   and reason (`quarantine/costs/<date>/focus_files-files.csv` + a copy); the other files are read.
2. **load**: validates the rows against the FOCUS spec (Great Expectations, rules written from the
   spec; costs must be finite, so `inf`/`1e309` are refused), quarantines failing rows with the rule
   they broke, and writes the rest into warehouse table `focus_costs` in one transaction: a source
   read in full *replaces* its (source, charge-period window) rows, so a restated export (new tags)
   never adds a second row; other rows are upserted by natural key. Reruns never duplicate a row.
3. **analyze**: the day's total against the daily budget (Param `daily_budget_usd`, else Variable
   `genai_cost_daily_budget_usd`, else $1,000) and a robust z-score (median/MAD) against the same
   weekday of the previous weeks, naming the service that drove the change.
4. **alert**: budget breach and/or anomaly through the project's notifiers (log, Slack, e-mail).
5. **report**: Markdown + PNG charts under `reports/cost/<date>/`: cost by provider/service/day,
   top movers, month-end forecast and ML unit economics (cost per 1,000 predictions, per retraining
   run, per synthetic row).

Runs daily at 06:00 UTC and whenever a compute-spending pipeline emits `compute_spent` or new cost
exports land (`cost_exports`). See docs/cloud_cost_report.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from genai_airflow.lake.triggers import LakePrefixTrigger
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date

#: New FOCUS exports under raw/costs/ start a run (lake watcher in the triggerer); see assets.lake_watched.
COST_EXPORTS = assets.lake_watched(assets.COST_EXPORTS, LakePrefixTrigger)

SOURCES = ["airflow_platform", "focus_files", "aws_cost_explorer", "azure_cost_management", "gcp_billing_export"]

PARAMS = {
    "daily_budget_usd": Param(None, type=["null", "number"], minimum=0,
                              description="Daily budget in USD; empty = Variable genai_cost_daily_budget_usd "
                                          "(default 1000). Above it a budget alert is sent."),
    "lookback_days": Param(35, type="integer", minimum=15, maximum=400,
                           description="Days of cost loaded per run, ending at the run date (the anomaly baseline "
                                       "needs 4 weeks; sources restate recent days, so they are re-read)."),
    "sources": Param(SOURCES, type="array", items={"type": "string", "enum": SOURCES},
                     description="Cost sources to read; a source whose connection is missing is skipped."),
    "cost_metric": Param("BilledCost", type="string", enum=["BilledCost", "EffectiveCost"],
                         description="FOCUS cost column used for budget, anomalies and the report "
                                     "(EffectiveCost spreads commitments and credits)."),
    "anomaly_z_threshold": Param(3.5, type="number", minimum=1,
                                 description="Robust z-score (median/MAD) above which a day or a service is anomalous."),
    "baseline_weeks": Param(4, type="integer", minimum=2, maximum=12,
                            description="Same-weekday days in the anomaly baseline (weeks back)."),
    "min_impact_usd": Param(100.0, type="number", minimum=0,
                            description="A service must move at least this many USD to be reported as anomalous."),
}


@dag(
    dag_id="cloud_cost_report",
    dag_display_name="Cloud cost report (FOCUS)",
    description="Multi-cloud + platform costs as FOCUS 1.2, budget and anomaly alerts, unit economics report.",
    doc_md=__doc__,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
        assets=(assets.COMPUTE_SPENT | COST_EXPORTS),
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["finops", "costs", "focus", "alerts"],
    params=PARAMS,
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "finops", "retries": 2, "retry_delay": pendulum.duration(minutes=2),
                  "retry_exponential_backoff": 2.0},
)
def cloud_cost_report():
    @task
    def plan_sources(params=None) -> list[str]:
        """The sources asked for in this run (the mapped extract fans out over them)."""
        return list(params["sources"])

    @task(multiple_outputs=False, map_index_template="{{ cost_source }}")
    def extract(source: str, params=None, **context) -> dict:
        from include.costs.pipeline import extract_source

        get_current_context()["cost_source"] = source
        return extract_source(source, run_date(context), params["lookback_days"])

    @task(multiple_outputs=False)
    def load(extracted: list[dict], **context) -> dict:
        from include.costs.pipeline import load_focus_rows

        return load_focus_rows(list(extracted), run_date(context))

    @task(multiple_outputs=False)
    def analyze(loaded: dict, params=None, **context) -> dict:
        from include.costs.pipeline import analyze_day

        return analyze_day(run_date(context), params)

    @task
    def alert(findings: dict, **context) -> list[str]:
        from include.costs.pipeline import send_cost_alerts

        return send_cost_alerts(findings, context)

    @task(multiple_outputs=False)
    def report(loaded: dict, findings: dict, params=None, **context) -> dict:
        from include.costs.pipeline import write_cost_report

        return write_cost_report(run_date(context), loaded, findings, params)

    loaded = load(extract.expand(source=plan_sources()))
    findings = analyze(loaded)
    alert(findings)
    report(loaded, findings)


cloud_cost_report()
