"""
### Cloud cost report: FOCUS-normalized multi-cloud costs, ML unit economics, budget and anomaly alerts

The article's `generate_cost_report` asks Azure for the last day's cost and alerts above $1,000. This
DAG does that for every cloud *and* for our own Airflow workers, in one comparable format (FOCUS 1.2):

1. **extract** (mapped per source; an unconfigured cloud is skipped with the reason): AWS Cost
   Explorer, Azure Cost Management, GCP billing export, FOCUS files in the lake and, by default, task
   durations from Airflow's REST API × a rate card; unreadable files/rows go to `quarantine/costs/`.
2. **load**: validates against the FOCUS spec and writes `focus_costs` idempotently (restatements replace).
   **export**: one FOCUS CSV per charge day, `curated/focus/<YYYY-MM-DD>.csv`, for the loaded window.
3. **analyze** / **alert**: daily budget and a same-weekday robust z-score naming the driving service.
4. **report**: Markdown + charts under `reports/cost/<date>/`, month-end forecast, unit economics.

Knobs: include/costs/config.py (`CostConfig`). Runs daily at 06:00 UTC and when `compute_spent` or new
cost exports (`cost_exports`) arrive. See docs/cloud_cost_report.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from genai_airflow.lake.triggers import LakePrefixTrigger
from include.costs.config import CostConfig
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date

#: New FOCUS exports under raw/costs/ start a run (lake watcher in the triggerer); see assets.lake_watched.
COST_EXPORTS = assets.lake_watched(assets.COST_EXPORTS, LakePrefixTrigger)


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
    params=CostConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "finops", "retries": 2, "retry_delay": pendulum.duration(minutes=2),
                  "retry_exponential_backoff": 2.0},
)
def cloud_cost_report():
    @task
    def plan_sources(params=None) -> list[str]:
        """Validate the run's config (a bad Param fails here, named) and list the sources to read."""
        return list(CostConfig.from_params(params).sources)

    @task(multiple_outputs=False, map_index_template="{{ cost_source }}")
    def extract(source: str, params=None, **context) -> dict:
        from include.costs.pipeline import extract_source

        get_current_context()["cost_source"] = source
        return extract_source(CostConfig.from_params(params), source, run_date(context))

    @task(multiple_outputs=False)
    def load(extracted: list[dict], **context) -> dict:
        from include.costs.pipeline import load_focus_rows

        return load_focus_rows(list(extracted), run_date(context))

    @task(multiple_outputs=False)
    def export(loaded: dict, params=None, **context) -> dict:
        """Per-day FOCUS CSVs in the lake (curated/focus/<day>.csv) for the loaded window."""
        from include.costs.pipeline import export_focus

        return export_focus(CostConfig.from_params(params), run_date(context))

    @task(multiple_outputs=False)
    def analyze(loaded: dict, params=None, **context) -> dict:
        from include.costs.pipeline import analyze_day

        return analyze_day(CostConfig.from_params(params), run_date(context))

    @task
    def alert(findings: dict, **context) -> list[str]:
        from include.costs.pipeline import send_cost_alerts

        return send_cost_alerts(findings, context)

    @task(multiple_outputs=False, outlets=[assets.COST_REPORT])
    def report(loaded: dict, findings: dict, params=None, **context) -> dict:
        from include.costs.pipeline import write_cost_report

        return write_cost_report(CostConfig.from_params(params), run_date(context), loaded, findings, context)

    loaded = load(extract.expand(source=plan_sources()))
    export(loaded)
    findings = analyze(loaded)
    alert(findings)
    report(loaded, findings)


cloud_cost_report()
