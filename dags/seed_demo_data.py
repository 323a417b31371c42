"""
### Seed demo data

Writes realistic, seeded inputs for every pipeline in this project into the lake, so a newcomer
sees DAGs with data to process. `make start` triggers it once on the first start.

| task | writes (under the lake root) | feeds |
|---|---|---|
| `check_lake` | nothing: refuses a lake that is not the default local one (see below) | every task |
| `feedback` | `raw/feedback/<date>/export-<date>.jsonl` (with malformed lines) | customer_sentiment_analysis |
| `customers` | `raw/customers/customers.parquet` (20k × 12) | synthetic_data_generation |
| `feature_batches` | `raw/features/reference/` + a stable and a drifted daily batch | adaptive_retraining |
| `cost_exports` | `raw/costs/focus/<provider>/focus-<month>.csv` (FOCUS 1.2, one anomaly) | cloud_cost_report |
| `metric_traces` | `raw/metrics/trace-<date>.parquet` (15-minute utilisation) | autoscaling_monitor |
| `pending_requests` | `raw/requests/pending/request-*.json` (queued inference requests) | autoscaling_monitor |

Same seed → same bytes. **Never over existing objects**: a file that is already there is left
untouched and logged, so a rerun changes nothing and demo data cannot replace a real input (delete
a file to regenerate it). **Only into the default local lake** (`<data dir>/lake`, Variable
`genai_lake_root` unset): `check_lake` refuses any other root — a bucket holds real data, and fake
records in its `raw/` zone would flow into real reports and models — unless the trigger sets
`allow_other_lake`. `make start` seeds on the first start only when the lake is the local one.
Each task emits the Asset its consumer is scheduled on.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from genai_airflow.lake.triggers import LakePrefixTrigger
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date

#: With the lake watchers their consumers schedule on: every file naming the asset must carry it.
FEATURE_BATCH = assets.lake_watched(assets.FEATURE_BATCH, LakePrefixTrigger)
RAW_FEEDBACK = assets.lake_watched(assets.RAW_FEEDBACK, LakePrefixTrigger)
COST_EXPORTS = assets.lake_watched(assets.COST_EXPORTS, LakePrefixTrigger)

PARAMS = {
    "seed": Param(42, type="integer", description="Random seed of every generator: same seed, same files."),
    "days": Param(3, type="integer", minimum=1, maximum=30,
                  description="Days of customer feedback to write, ending at the run's logical date."),
    "feedback_per_day": Param(400, type="integer", minimum=0, maximum=100_000,
                              description="Feedback records per day (before malformed lines and duplicates)."),
    "malformed_share": Param(0.03, type="number", minimum=0, maximum=1,
                             description="Share of feedback lines written malformed, to exercise the quarantine."),
    "pending_requests": Param(25, type="integer", minimum=0, maximum=10_000,
                              description="Inference requests left pending, for the autoscaling monitor to drain."),
    "customer_rows": Param(20_000, type="integer", minimum=100, maximum=1_000_000,
                           description="Rows of the demo customer table."),
    "allow_other_lake": Param(False, type="boolean",
                              description="Seed a lake other than the default local one (Variable genai_lake_root "
                                          "set, e.g. a bucket). Off: such a run fails at check_lake. Existing "
                                          "objects are never overwritten either way."),
}


@dag(
    dag_id="seed_demo_data",
    dag_display_name="Seed demo data",
    description="Write seeded demo inputs for every pipeline into the lake.",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["demo", "platform"],
    params=PARAMS,
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "ml-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=10)},
)
def seed_demo_data():
    @task
    def check_lake(params=None) -> str:
        """Fail at once (no retries) when the lake is not the project's default local one."""
        from include.demo.guard import require_seedable_lake

        return require_seedable_lake(allow_other_lake=params["allow_other_lake"])

    @task(outlets=[RAW_FEEDBACK])
    def feedback(params=None, **context) -> list[str]:
        from include.demo.writers import write_feedback

        return write_feedback(run_date(context), days=params["days"], per_day=params["feedback_per_day"],
                              seed=params["seed"], malformed_share=params["malformed_share"])

    @task(outlets=[assets.CUSTOMER_TABLE])
    def customers(params=None) -> list[str]:
        from include.demo.writers import write_customers

        return write_customers(rows=params["customer_rows"], seed=params["seed"])

    @task(outlets=[FEATURE_BATCH])
    def feature_batches(params=None, **context) -> list[str]:
        from include.demo.writers import write_feature_batches

        return write_feature_batches(run_date(context), seed=params["seed"])

    @task(outlets=[COST_EXPORTS])
    def cost_exports(params=None, **context) -> list[str]:
        from include.demo.writers import write_cost_exports

        return write_cost_exports(run_date(context), seed=params["seed"])

    @task(outlets=[assets.METRIC_TRACES])
    def metric_traces(params=None, **context) -> list[str]:
        from include.demo.writers import write_metric_trace

        return write_metric_trace(run_date(context), seed=params["seed"])

    @task
    def pending_requests(params=None) -> int:
        from include.demo.writers import write_pending_requests

        return len(write_pending_requests(params["pending_requests"]))

    check_lake() >> [feedback(), customers(), feature_batches(), cost_exports(), metric_traces(), pending_requests()]


seed_demo_data()
