"""
### Customer sentiment analysis: feedback → validate → clean → batched transformer inference → warehouse → report

The article's `customer_sentiment_analysis` pulls the day's customer feedback from storage into the
warehouse, preprocesses it, runs it through a model and finishes with a SQL report. This DAG does
exactly that, for real, on the embedded defaults (local lake + DuckDB) or on any cloud by configuration:

1. **extract** — reads `raw/feedback/<date>/*.jsonl` from the lake (local, `s3://`, `gs://`,
   `abfs://`), validates every line (id, customer_id, text, channel, created_at with time zone,
   optional rating 1–5). Valid rows are upserted into `raw_feedback` by `id`; every invalid line goes
   to `quarantine/sentiment/<date>/rejected.jsonl` and table `feedback_quarantine` with its file, line
   number and the reason. No file for the day → everything downstream is *skipped* (not failed). Only
   malformed lines → all quarantined, a warning is sent, and the run still succeeds. Lines are split
   on `\n` only and decoded one by one: a non-UTF-8 byte, a 100,000-deep `[[[…`, an oversize line
   or text costs that line alone (quarantined with file, line, byte offset and reason), and a raw
   U+2028 inside a JSON string stays part of its record.
2. **prepare** — strips HTML and entities, collapses whitespace, drops exact duplicates (same
   customer, same text), flags empty texts, truncates over-long ones to the model's token window
   (at a token boundary), writes `feedback_clean`, sorts by token length and cuts the scorable rows into
   chunks (none when every valid text is empty or a duplicate: the run then loads zero rows and
   the report carries a warning). The model alias (`sentiment@champion`) is resolved *once* here,
   so every chunk of a run uses the same version even if a new champion is promoted meanwhile.
3. **score_chunk** (transformers backend, default) — one mapped task per chunk (the task's map index
   shows its row range): the registry model, batched and length-sorted, threads pinned; on CPU
   (`runtime=auto`) through ONNX Runtime on the version's verified ONNX export, on a GPU through
   transformers; `auto` precision picks int8 only when the champion's registered int8 macro-F1 on the
   real test set is within 0.01 of fp32.
   **llm_classify** (LLM backend) — the same chunks through the common-ai provider's
   `PydanticAIHook` (the hook behind `@task.llm`, called inside the task so pydantic-ai is imported
   at run time, not at every parse) with a structured `Literal["negative", "neutral", "positive"]`
   output, against the connection named by Param `llm_conn_id` (OpenAI, Anthropic, Bedrock, Vertex,
   Azure OpenAI, any OpenAI-compatible host).
4. **load** — upserts `sentiment_results` keyed by `(feedback_id, model_version)`: reruns never
   duplicate. With a BigQuery warehouse connection the article's GCS → BigQuery load runs instead
   (Parquet in the `gs://` lake → load job → MERGE on the same key).
5. **report** — SQL report `sentiment_daily_report` (share by channel, change of the negative share
   vs the 7-day average) and `sentiment_negative_themes` (most negative themes by keyword), plus
   `reports/sentiment/<date>/report.md` with a PNG chart.

Params (typed: `include/sentiment/config.py::SentimentConfig`) that grant reach are constrained:
`model` is a registry reference or an allow-listed hub id (Variable `genai_allowed_models`),
`llm_conn_id` an allow-listed connection (Variable `genai_allowed_connections`); anything else
fails the run at once with the fix. Without a champion the run fails at once and names
`train_sentiment_model`.

Runs daily (no catch-up) and whenever new feedback files land (Asset `raw_feedback`).
The offline champion comes from DAG `train_sentiment_model`. See docs/customer_sentiment_analysis.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, TriggerRule, dag, get_current_context, task

from genai_airflow.lake.triggers import LakePrefixTrigger
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date
from include.sentiment.config import SentimentConfig

#: Feedback files landing under raw/feedback/ start a run (lake watcher); see assets.lake_watched.
RAW_FEEDBACK = assets.lake_watched(assets.RAW_FEEDBACK, LakePrefixTrigger)


@dag(
    dag_id="customer_sentiment_analysis",
    dag_display_name="Customer sentiment analysis",
    description="Daily customer feedback → validation/quarantine → transformer or LLM sentiment → warehouse → report.",
    doc_md=__doc__,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 2 * * *", timezone="UTC"),
        assets=RAW_FEEDBACK,
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genai", "sentiment", "transformers", "llm", "warehouse"],
    params=SentimentConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "customer-insights", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def customer_sentiment_analysis():
    # Every task builds the typed config first: a refused model / LLM connection fails extract at once.
    @task(multiple_outputs=False)
    def extract(params=None, **context) -> dict:
        from include.sentiment import steps

        return steps.extract(SentimentConfig.from_params(params), run_date(context), context)

    @task
    def prepare(extracted: dict, params=None, **context) -> list[dict]:
        """Returns the chunks to map over (each names the resolved model version); counts go to XCom 'summary'."""
        from include.sentiment import steps

        return steps.prepare(SentimentConfig.from_params(params), run_date(context), extracted, context)

    @task.branch
    def choose_backend(params=None) -> str:
        from include.sentiment import steps

        return steps.choose_backend(SentimentConfig.from_params(params))

    # Pool "inference": batch-inference slots (resized by autoscaling_monitor); "llm_api": the hosted
    # LLM's concurrent-request limit. Both are defined in airflow_settings.yaml.
    #
    # Rate limits and timeouts are absorbed in two layers. Inside a task, the provider's client retries
    # one request (429, 5xx, timeout) llm_max_retries times with exponential backoff, honouring
    # Retry-After, while the task keeps its llm_api slot, so retries never add concurrency. When a
    # burst outlasts that, the task fails and Airflow retries it after 5 s, 10 s, 20 s, 40 s (doubling,
    # capped at 5 min). Every attempt is in the task log ("Retrying request to /chat/completions").
    @task(map_index_template="{{ chunk_label }}", pool="inference")
    def score_chunk(chunk: dict, params=None, **context) -> str:
        from include.sentiment import steps

        get_current_context()["chunk_label"] = chunk["label"]
        return steps.score_chunk(SentimentConfig.from_params(params), run_date(context), chunk)

    # A plain @task calling the provider's hook, not @task.llm: the decorator's operator module
    # imports pydantic-ai, which made every parse of this file cost 0.6-0.9 s (budget 0.2 s).
    # steps.llm_classify imports it when the task runs.
    @task(
        multiple_outputs=False,
        map_index_template="{{ chunk_label }}",
        pool="llm_api",
        retries=4,
        retry_delay=pendulum.duration(seconds=5),
        retry_exponential_backoff=2.0,
        max_retry_delay=pendulum.duration(minutes=5),
    )
    def llm_classify(chunk: dict, params=None) -> dict:
        from include.sentiment import steps

        get_current_context()["chunk_label"] = chunk["label"]
        return steps.llm_classify(SentimentConfig.from_params(params), chunk)

    @task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
          outlets=[assets.SENTIMENT_RESULTS])
    def load(chunks: list, score_uris=None, llm_outputs=None, params=None, **context) -> dict:
        from include.sentiment import steps

        return steps.load(SentimentConfig.from_params(params), run_date(context), chunks, score_uris, llm_outputs,
                          context)

    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def report(extracted: dict, loaded: dict, params=None, **context) -> dict:
        from include.sentiment import steps

        return steps.report(SentimentConfig.from_params(params), run_date(context), extracted, loaded, context)

    extracted = extract()
    chunks = prepare(extracted)
    branch = choose_backend()
    scored = score_chunk.expand(chunk=chunks)
    labeled = llm_classify.expand(chunk=chunks)
    chunks >> branch >> [scored, labeled]
    loaded = load(chunks, scored, labeled)
    report(extracted, loaded)


customer_sentiment_analysis()
