"""
### Content generation: briefs → hybrid retrieval → cited draft → grounding gate → human approval → publish

The generation half of the RAG pipelines (issue #17): `ingest_knowledge_base` keeps the knowledge base
current; this DAG writes short articles from it, every sentence citing the chunks it rests on.

1. **prepare** — the form's brief (`topic`, `audience`, `tone`, `length`) plus the day's
   `raw/briefs/<YYYY-MM-DD>/*.jsonl` (seeded by `seed_demo_data`), validated line by line; bad lines go to
   `quarantine/content_generation/<day>/briefs.jsonl` with file, line and reason.
2. **retrieve** (mapped, one task per brief, named after it) — top-k chunks from the knowledge base with
   hybrid BM25 + MiniLM search fused by reciprocal rank (`include.rag.search.hybrid_search`).
3. **choose_mode** → **write_llm** (a hosted LLM through the common-ai provider's `PydanticAIHook`, pool
   `llm_api`, structured output: sentences with cited chunk ids) or **write_extractive** (the retrieved
   sentences most similar to the brief, each cited; no model that could invent anything) or **write_local**
   (offline: `textgen@champion` from `llm_fine_tuning` continues the retrieved chunks + the brief, pool
   `inference`; it emits no citations, so each sentence cites the retrieved chunk most similar to it; a
   missing champion fails `choose_mode` at once). `auto`: llm when connection `content_llm` exists, else
   extractive (never local). The mode is recorded with every draft.
4. **gate** — grounding: every sentence supported by a chunk it cites (MiniLM cosine ≥ `min_support`),
   every citation a retrieved chunk, length bounds, banned terms. Failing drafts →
   `quarantine/content_generation/<day>/drafts.jsonl` with reasons; never reviewed, never published.
5. **approve** — the standard provider's `HITLOperator` (Approve / Reject + comment), listed in the UI's
   *Required Actions* (skipped when `require_approval` is off or nothing passed the gate).
6. **publish** — Approve: `curated/content/<day>/<brief_id>.md` + `.json` and rows `published` in warehouse
   table `generated_content` (key brief_id + day: reruns never duplicate). Reject: rows `rejected` with the
   reviewer and comment, no files. Emits `generated_content`.
7. **report** — `reports/content_generation/<day>/report.md`: drafts, grounding scores (chart), sources used.

Params: `include/content/config.py::ContentConfig`. See docs/content_generation.md.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import CronTriggerTimetable, Param, TriggerRule, dag, get_current_context, task

from include.content import APPROVE, REJECT
from include.content.config import ContentConfig
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date


@dag(
    dag_id="content_generation",
    dag_display_name="Content generation (RAG)",
    description="Briefs → hybrid retrieval from the knowledge base → cited draft (LLM, local or extractive) → grounding "
                "gate → human approval → curated/content + generated_content → report.",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genai", "rag", "llm", "generation", "hitl"],
    params=ContentConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "genai-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def content_generation():
    @task
    def prepare(params=None, **context) -> list[dict]:
        from include.content import steps

        return steps.prepare(ContentConfig.from_params(params), run_date(context), context)

    @task(multiple_outputs=False, map_index_template="{{ brief_label }}")
    def retrieve(brief: dict, params=None) -> dict:
        from include.content import steps

        get_current_context()["brief_label"] = brief["brief_id"]
        return steps.retrieve(ContentConfig.from_params(params), brief)

    @task.branch
    def choose_mode(params=None) -> str:
        from include.content import steps

        return steps.choose_mode(ContentConfig.from_params(params))

    @task(multiple_outputs=False, map_index_template="{{ brief_label }}")
    def write_extractive(retrieved: dict, params=None) -> dict:
        from include.content import steps

        get_current_context()["brief_label"] = retrieved["brief"]["brief_id"]
        return steps.write_extractive(ContentConfig.from_params(params), retrieved)

    # Plain @task calling the provider's hook (not @task.llm: its module imports pydantic-ai at parse).
    @task(multiple_outputs=False, map_index_template="{{ brief_label }}", pool="llm_api", retries=4,
          retry_delay=pendulum.duration(seconds=5), retry_exponential_backoff=2.0,
          max_retry_delay=pendulum.duration(minutes=5))
    def write_llm(retrieved: dict, params=None) -> dict:
        from include.content import steps

        get_current_context()["brief_label"] = retrieved["brief"]["brief_id"]
        return steps.write_llm(ContentConfig.from_params(params), retrieved)

    @task(multiple_outputs=False, map_index_template="{{ brief_label }}", pool="inference",
          execution_timeout=pendulum.duration(minutes=30))
    def write_local(retrieved: dict, params=None) -> dict:
        from include.content import steps

        get_current_context()["brief_label"] = retrieved["brief"]["brief_id"]
        return steps.write_local(ContentConfig.from_params(params), retrieved)

    @task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def gate(retrieved: list, extractive=None, llm=None, local=None, params=None, **context) -> dict:
        from include.content import steps

        return steps.gate(ContentConfig.from_params(params), run_date(context), retrieved,
                          [extractive, llm, local], context)

    @task.branch
    def review_route(gated: dict, params=None) -> str:
        from include.content import steps

        return steps.review_route(ContentConfig.from_params(params), gated)

    approve = HITLOperator(
        task_id="approve",
        subject="Publish {{ ti.xcom_pull(task_ids='gate')['passed'] | length }} grounded draft(s) of {{ run_id }}?",
        body="{{ ti.xcom_pull(task_ids='gate')['review_md'] }}",
        options=[APPROVE, REJECT],
        params={"comment": Param("", type="string", maxLength=2000,
                                 description="Why (recorded with the decision in generated_content).")},
        # No answer in 3 days: the task fails and its retries ask again (the request reappears in Required
        # Actions); after the last one the failure alert fires and nothing is published.
        response_timeout=pendulum.duration(days=3),
    )

    @task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
          outlets=[assets.GENERATED_CONTENT])
    def publish(gated: dict, params=None, **context) -> dict:
        from include.content import steps

        return steps.publish(ContentConfig.from_params(params), run_date(context), gated, context)

    @task(multiple_outputs=False)
    def report(gated: dict, published: dict, **context) -> dict:
        from include.content import steps

        return steps.report(run_date(context), gated, published, context)

    retrieved = retrieve.expand(brief=prepare())
    mode = choose_mode()
    extractive = write_extractive.expand(retrieved=retrieved)
    llm = write_llm.expand(retrieved=retrieved)
    local = write_local.expand(retrieved=retrieved)
    retrieved >> mode >> [extractive, llm, local]
    gated = gate(retrieved, extractive, llm, local)
    route = review_route(gated)
    route >> approve
    published = publish(gated)
    [route, approve] >> published
    report(gated, published)


content_generation()
