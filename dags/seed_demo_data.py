"""
### Seed demo data

Writes realistic, seeded inputs for every pipeline of this project into the lake's `raw/` zone —
customer feedback (with malformed lines), the customer table, feature batches (one drifted), FOCUS
cost exports, utilisation traces and pending inference requests — so a newcomer sees DAGs with data
to process. `make start` triggers it once on the first start. Each task emits the Asset its consumer
is scheduled on.

Same seed → same bytes. **Never over existing objects** (a conditional create: a file already there
is left untouched and logged), so a rerun changes nothing and demo data cannot replace a real input.
**Only into the default local lake**: `check_lake` refuses any other root — fake records in a real
lake's `raw/` would flow into real reports and models — unless the trigger sets `allow_other_lake`.
What each task writes, and for which DAG: `docs/seed_demo_data.md`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from genai_airflow.lake.triggers import LakePrefixTrigger
from include.demo.config import SeedConfig
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date

#: With the lake watchers their consumers schedule on: every file naming the asset must carry it.
FEATURE_BATCH = assets.lake_watched(assets.FEATURE_BATCH, LakePrefixTrigger)
RAW_FEEDBACK = assets.lake_watched(assets.RAW_FEEDBACK, LakePrefixTrigger)
COST_EXPORTS = assets.lake_watched(assets.COST_EXPORTS, LakePrefixTrigger)
RAW_KNOWLEDGE = assets.lake_watched(assets.RAW_KNOWLEDGE, LakePrefixTrigger)


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
    params=SeedConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "ml-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=10)},
)
def seed_demo_data():
    @task
    def check_lake(params=None) -> str:
        """Fail at once (no retries) when the lake is not the project's default local one."""
        from include.demo.guard import require_seedable_lake

        return require_seedable_lake(allow_other_lake=SeedConfig.from_params(params).allow_other_lake)

    @task(outlets=[RAW_FEEDBACK])
    def feedback(params=None, **context) -> list[str]:
        from include.demo.writers import write_feedback

        cfg = SeedConfig.from_params(params)
        return write_feedback(run_date(context), days=cfg.days, per_day=cfg.feedback_per_day, seed=cfg.seed,
                              malformed_share=cfg.malformed_share)

    @task(outlets=[assets.CUSTOMER_TABLE])
    def customers(params=None) -> list[str]:
        from include.demo.writers import write_customers

        cfg = SeedConfig.from_params(params)
        return write_customers(rows=cfg.customer_rows, seed=cfg.seed)

    @task(outlets=[FEATURE_BATCH])
    def feature_batches(params=None, **context) -> list[str]:
        from include.demo.writers import write_feature_batches

        return write_feature_batches(run_date(context), seed=SeedConfig.from_params(params).seed)

    @task(outlets=[COST_EXPORTS])
    def cost_exports(params=None, **context) -> list[str]:
        from include.demo.writers import write_cost_exports

        return write_cost_exports(run_date(context), seed=SeedConfig.from_params(params).seed)

    @task(outlets=[assets.METRIC_TRACES])
    def metric_traces(params=None, **context) -> list[str]:
        from include.demo.writers import write_metric_trace

        return write_metric_trace(run_date(context), seed=SeedConfig.from_params(params).seed)

    @task(outlets=[assets.PENDING_REQUESTS])
    def pending_requests(params=None) -> int:
        from include.demo.writers import write_pending_requests

        return len(write_pending_requests(SeedConfig.from_params(params).pending_requests))

    @task(multiple_outputs=False)
    def llm_corpus() -> dict:
        """The shipped clothing reviews (CC0) as llm_fine_tuning's corpus; never over an existing file."""
        from include.llm.corpus import seed_corpus

        return seed_corpus()

    @task(multiple_outputs=False, outlets=[RAW_KNOWLEDGE])
    def knowledge_corpus() -> dict:
        """ingest_knowledge_base's demo sources (Pydantic AI guide, MIT; planted handbook, CC0)."""
        from include.rag.demo import seed_knowledge_base

        return seed_knowledge_base()

    @task(multiple_outputs=False)
    def prompts(**context) -> list[str]:
        """Review openings for text_generation (raw/prompts/<date>/); never over an existing file."""
        from include.textgen.prompts import seed_prompts

        return seed_prompts(run_date(context))

    @task(multiple_outputs=False)
    def briefs(**context) -> list[str]:
        """Content briefs the demo knowledge base answers, for content_generation (raw/briefs/<date>/)."""
        from include.content.briefs import seed_briefs

        return seed_briefs(run_date(context))

    check_lake() >> [feedback(), customers(), feature_batches(), cost_exports(), metric_traces(), pending_requests(),
                     llm_corpus(), knowledge_corpus(), prompts(), briefs()]


seed_demo_data()
