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
   shows its row range): the registry model, batched and length-sorted under `torch.inference_mode()`,
   threads pinned, GPU when present; `auto` precision picks dynamic int8 only when the champion's
   registered int8 macro-F1 is within 0.01 of fp32.
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

Params that grant reach are constrained: `model` is a registry reference or an allow-listed hub
id (Variable `genai_allowed_models`), `llm_conn_id` an allow-listed connection (Variable
`genai_allowed_connections`); anything else fails the run at once with the fix. Without a champion
the run fails at once and names `train_sentiment_model`.

Runs daily (no catch-up) and whenever new feedback files land (Asset `raw_feedback`).
The offline champion comes from DAG `train_sentiment_model`. See docs/customer_sentiment_analysis.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import (
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    TriggerRule,
    dag,
    get_current_context,
    task,
)

from genai_airflow.lake.triggers import LakePrefixTrigger
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date
from include.sentiment.modeling import MODEL_PARAM_PATTERN
from include.sentiment.params import CONN_ID_PATTERN

#: Feedback files landing under raw/feedback/ start a run (lake watcher); see assets.lake_watched.
RAW_FEEDBACK = assets.lake_watched(assets.RAW_FEEDBACK, LakePrefixTrigger)

PARAMS = {
    "backend": Param("transformers", type="string", enum=["transformers", "llm"],
                     description="transformers: the registry model on this worker. llm: a hosted LLM through "
                                 "the connection in llm_conn_id (common-ai PydanticAIHook)."),
    "model": Param("", type="string", pattern=MODEL_PARAM_PATTERN, maxLength=200,
                   description="Model to score with: a registry reference ('sentiment@champion', "
                               "'sentiment@challenger', 'sentiment/3') or a Hugging Face Hub id an operator "
                               "allow-listed (Variable genai_allowed_models). Local folders are refused. "
                               "Empty = Variable genai_sentiment_model, else sentiment@champion."),
    "precision": Param("auto", type="string", enum=["auto", "fp32", "int8"],
                       description="auto: dynamic int8 on CPU only if the model's int8 macro-F1 is within 0.01 "
                                   "of fp32 (measured at training), else fp32."),
    "device": Param("auto", type="string", enum=["auto", "cpu"],
                    description="auto: a GPU when the worker has one, else CPU."),
    "batch_size": Param(32, type="integer", minimum=1, maximum=1024,
                        description="Texts per forward pass (after sorting by token length)."),
    "chunk_size": Param(256, type="integer", minimum=1, maximum=100_000,
                        description="Rows per mapped scoring task: smaller = more parallel tasks."),
    "max_tokens": Param(128, type="integer", minimum=8, maximum=512,
                        description="Token window; longer texts are truncated (and flagged). The model's own "
                                    "trained window wins when smaller."),
    "threads": Param(2, type="integer", minimum=1, maximum=64,
                     description="torch CPU threads per scoring task (match the worker's cores per task)."),
    "llm_conn_id": Param("sentiment_llm", type="string", pattern=CONN_ID_PATTERN,
                         description="LLM backend: the pydantic-ai connection (pydanticai / Azure / Bedrock / "
                                     "Vertex types) that holds the provider, key and model. Only sentiment_llm "
                                     "or ids an operator allow-listed (Variable genai_allowed_connections)."),
    "llm_model_id": Param("", type="string",
                          description="LLM backend: model override such as 'openai:gpt-5-mini'; empty = the "
                                      "connection's model."),
    "llm_timeout_s": Param(60, type="number", minimum=1, maximum=600,
                           description="LLM backend: seconds one request may take before it is abandoned and "
                                       "retried."),
    "llm_max_retries": Param(4, type="integer", minimum=0, maximum=10,
                             description="LLM backend: retries of one request inside a task (429 / 5xx / timeout), "
                                         "with the client's exponential backoff and the server's Retry-After. When "
                                         "they run out, the task itself is retried (exponential backoff, up to 4 "
                                         "times)."),
}


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
    params=PARAMS,
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "customer-insights", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def customer_sentiment_analysis():
    @task(multiple_outputs=False)
    def extract(params=None, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.platform.notify import Alert, send_alert
        from include.sentiment import pipeline
        from include.sentiment.modeling import check_model_ref
        from include.sentiment.params import check_llm_conn_id

        # Params that grant reach are checked before anything is read: a refused value fails at once.
        if params["model"]:
            check_model_ref(params["model"])
        if params["backend"] == "llm":
            check_llm_conn_id(params["llm_conn_id"])
        day = run_date(context)
        counts = pipeline.extract(day)
        if counts["lines"] == 0:
            raise AirflowSkipException(f"no feedback lines under raw/feedback/{day}/ ({counts['files']} files): "
                                       "nothing to score today")
        if counts["valid"] == 0:
            counts["warning"] = (f"all {counts['quarantined']} feedback lines of {day} are malformed; "
                                 f"see {counts.get('quarantine_uri')}")
            send_alert(Alert(subject=f"customer_sentiment_analysis {day}: every line quarantined",
                             body=counts["warning"], severity="warning"), context)
        return counts

    @task
    def prepare(extracted: dict, params=None, **context) -> list[dict]:
        """Returns the chunks to map over (each names the resolved model version); counts go to XCom 'summary'."""
        from airflow.sdk.exceptions import AirflowSkipException

        from include.platform.settings import get_setting
        from include.sentiment import CHAMPION_REF, pipeline

        if extracted["valid"] == 0:
            raise AirflowSkipException("no valid feedback to score (all lines quarantined)")
        model_ref = params["model"] or get_setting("sentiment_model", CHAMPION_REF) or CHAMPION_REF
        info = pipeline.prepare(run_date(context), extracted["valid_uri"], params["backend"], model_ref,
                                params["max_tokens"], params["chunk_size"])
        context["ti"].xcom_push(key="summary", value={k: v for k, v in info.items() if k != "chunks"})
        return info["chunks"]

    @task.branch
    def choose_backend(params=None) -> str:
        return "llm_classify" if params["backend"] == "llm" else "score_chunk"

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
        from include.sentiment import pipeline

        get_current_context()["chunk_label"] = chunk["label"]
        return pipeline.score_chunk(run_date(context), chunk, chunk["model_version"], params["precision"],
                                    params["batch_size"], params["threads"], params["device"])

    # A plain @task calling the provider's hook, not @task.llm: the decorator's operator module
    # imports pydantic-ai, which made every parse of this file cost 0.6-0.9 s (budget 0.2 s).
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
        from include.sentiment import pipeline
        from include.sentiment.llm import classify_chunk

        get_current_context()["chunk_label"] = chunk["label"]
        return classify_chunk(pipeline.llm_prompt(chunk), conn_id=params["llm_conn_id"],
                              model_id=params["llm_model_id"], timeout_s=params["llm_timeout_s"],
                              max_retries=params["llm_max_retries"])

    @task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
          outlets=[assets.SENTIMENT_RESULTS])
    def load(chunks: list, score_uris=None, llm_outputs=None, params=None, **context) -> dict:
        from include.sentiment import pipeline

        day = run_date(context)
        if params["backend"] == "llm":
            version = f"llm:{params['llm_conn_id']}:{params['llm_model_id'] or 'connection-model'}"
            frame, problems = pipeline.llm_rows(chunks, list(llm_outputs or []), version)
        else:
            prepared = context["ti"].xcom_pull(task_ids="prepare", key="summary") or {}
            version = prepared.get("model_version", "")
            frame, problems = pipeline.read_scores(list(score_uris or [])), []
        # No chunks (every valid text empty or a duplicate): zero rows and a warning, not a failure.
        return pipeline.load(day, frame, problems, model_version=version) | {"backend": params["backend"]}

    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def report(extracted: dict, loaded: dict, params=None, **context) -> dict:
        from include.platform import compute
        from include.sentiment import pipeline

        prepared = context["ti"].xcom_pull(task_ids="prepare", key="summary") or {}
        summary = extracted | {k: prepared.get(k, 0) for k in ("duplicates", "empty", "truncated")} | loaded
        result = pipeline.build_report(run_date(context), summary)
        # "auto" picks the device per scoring chunk; the hosted LLM's device is the provider's.
        device = "hosted-llm" if params["backend"] == "llm" else params["device"].replace("auto", "unreported")
        compute.emit(context, assets.COMPUTE_SPENT, device=device, backend=params["backend"],
                     rows_scored=loaded.get("scored", 0))
        return result

    extracted = extract()
    chunks = prepare(extracted)
    branch = choose_backend()
    scored = score_chunk.expand(chunk=chunks)
    labeled = llm_classify.expand(chunk=chunks)
    chunks >> branch >> [scored, labeled]
    loaded = load(chunks, scored, labeled)
    report(extracted, loaded)


customer_sentiment_analysis()
