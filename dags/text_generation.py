"""
### Text generation: the day's prompts → textgen@champion (or a hosted LLM) → quality gate → warehouse

The generative half of issue #16: `llm_fine_tuning` trains and promotes `textgen@champion`; this DAG
puts it to work on the day's prompts (review openings a merchandising team wants continued).

1. **prepare** — resolves the model once (`textgen@champion` → `textgen/<n>`; with no champion the run
   fails at once naming DAG `llm_fine_tuning`), reads `raw/prompts/<YYYY-MM-DD>/*.jsonl` (one object
   per line: `prompt_id`, `prompt`; seeded by `seed_demo_data`) plus the form's `prompt`, validates
   every line (JSON, required fields, length bounds, duplicate ids) and quarantines the rest to
   `quarantine/text_generation/<day>/prompts.jsonl` with file, line and reason; sorts the valid prompts
   by length and cuts them into chunks. No prompt at all → skipped; only invalid ones → a warning alert.
2. **generate_chunk** (local backend, default) — one mapped task per chunk (its map index names the
   prompt range): the registry model, batches of `batch_size` sorted by token length, left-padded,
   `model.generate` with the KV cache; greedy by default (deterministic), seeded sampling when
   `temperature` > 0. **llm_generate_chunk** (LLM backend) — the same chunks through the common-ai
   provider's `PydanticAIHook` (structured output, one request per chunk) in pool `llm_api`, with the
   client's retries inside the task and Airflow's exponential task retries around it.
3. **publish** — strips, cuts at `stop_sequences`, drops repeated sentences, then the quality gate:
   length bounds, repetition ratio, perplexity given the prompt under `reference_model` (default: the
   champion itself), `banned_terms`. Passing outputs are upserted into warehouse table `generated_text`
   keyed by `(prompt_id, model_version)` (reruns never duplicate); failing ones go to
   `quarantine/text_generation/<day>/outputs-<version>.jsonl` with their reasons. Emits `generated_text`.
4. **report** — `reports/text_generation/<day>/<version>/report.md` with length and perplexity
   distributions (PNG) and examples; emits `compute_spent` (cloud_cost_report runs on it).

Params (typed: `include/textgen/config.py::GenerationConfig`) that grant reach are constrained: models are
`textgen` registry references only, `llm_conn_id` must be allow-listed. See docs/text_generation.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, TriggerRule, dag, get_current_context, task

from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date
from include.textgen.config import GenerationConfig


@dag(
    dag_id="text_generation",
    dag_display_name="Text generation (textgen champion)",
    description="Daily prompts → validation/quarantine → textgen@champion (batched, KV cache) or a hosted LLM → "
                "post-process and quality gate → generated_text → report.",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("0 4 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genai", "llm", "generation", "warehouse"],
    params=GenerationConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "genai-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def text_generation():
    @task
    def prepare(params=None, **context) -> list[dict]:
        """Returns the chunks to map over (each names the resolved model version); counts go to XCom 'summary'."""
        from include.textgen import steps

        return steps.prepare(GenerationConfig.from_params(params), run_date(context), context)

    @task.branch
    def choose_backend(params=None) -> str:
        from include.textgen import steps

        return steps.choose_backend(GenerationConfig.from_params(params))

    @task(multiple_outputs=False, map_index_template="{{ chunk_label }}", pool="inference",
          execution_timeout=pendulum.duration(minutes=30))
    def generate_chunk(chunk: dict, params=None, **context) -> str:
        from include.textgen import steps

        get_current_context()["chunk_label"] = chunk["label"]
        return steps.generate_chunk(GenerationConfig.from_params(params), chunk, context)

    # Plain @task calling the provider's hook (not @task.llm: its module imports pydantic-ai at parse).
    # Two retry layers, as in customer_sentiment_analysis: the client's inside the task, then these.
    @task(multiple_outputs=False, map_index_template="{{ chunk_label }}", pool="llm_api", retries=4,
          retry_delay=pendulum.duration(seconds=5), retry_exponential_backoff=2.0,
          max_retry_delay=pendulum.duration(minutes=5))
    def llm_generate_chunk(chunk: dict, params=None) -> dict:
        from include.textgen import steps

        get_current_context()["chunk_label"] = chunk["label"]
        return steps.llm_generate_chunk(GenerationConfig.from_params(params), chunk)

    @task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
          outlets=[assets.GENERATED_TEXT])
    def publish(chunks: list, uris=None, llm_outputs=None, params=None, **context) -> dict:
        from include.textgen import steps

        return steps.publish(GenerationConfig.from_params(params), run_date(context), chunks, uris, llm_outputs,
                             context)

    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def report(published: dict, **context) -> dict:
        from include.textgen import steps

        return steps.report(run_date(context), published, context)

    chunks = prepare()
    branch = choose_backend()
    generated = generate_chunk.expand(chunk=chunks)
    answered = llm_generate_chunk.expand(chunk=chunks)
    chunks >> branch >> [generated, answered]
    report(publish(chunks, generated, answered))


text_generation()
