"""
### LLM fine-tuning: a causal language model trained, checkpointed, judged and promoted offline

The generative core of the project: a GPT-2-architecture model learns the project's own feedback domain
— the review texts of **Women's E-Commerce Clothing Reviews** (CC0, shipped in
`include/sentiment/datasets/`, seeded to `raw/llm_corpus/` by `seed_demo_data`) — and becomes
`textgen@champion` only if it beats the current one on the same held-out texts.

1. **prepare** — reads `raw/llm_corpus/<corpus_key>` (JSONL or Parquet), validates it with Great
   Expectations (non-empty, length bounds, duplicates, a PII screen for e-mails, phone numbers and
   Luhn-valid card numbers; failing documents → `quarantine/llm_fine_tuning/<day>/` with file, line and
   reason), trains a byte-level BPE tokenizer on it with `tokenizers` (or loads the base model's; the
   vocabulary is checked), and packs the documents into fixed-length blocks (Parquet in the lake), with a
   held-out split by text hash.
2. **backend** (branch) — where training runs: Param `training_backend` (`auto` = a SageMaker training
   job when the aws connection of Variable `genai_llm_training_aws_conn_id` exists and the lake is on s3://,
   a Vertex AI custom job for the gcp connection and a gs:// lake, an Azure ML job for the azure connection
   and an abfs:// lake, else here).
   **train** (`GPUJobOperator` in pool `gpu`: a free GPU pinned, or the CPU) — a hand-written AdamW loop (warm-up + cosine, clipping, bf16 autocast where the hardware
   does bf16 natively), checkpoints (weights, optimizer, scheduler, step, RNG states) to the lake every
   `checkpoint_every` steps; a retried attempt resumes from the last one. Progress lines: step, loss,
   tokens/s, ETA. Or **sagemaker_job** → **sagemaker_train** (the amazon provider's
   `SageMakerTrainingOperator`, deferrable) → **sagemaker_model**: the same training in this project's
   image (`python -m include.llm.cloud_entry`), channels = the run's packed blocks in the s3:// lake,
   hyper-parameters from the same config; the job's `S3ModelArtifacts` is unpacked into the run's folder.
   Or **vertex_train** / **azureml_train** (reschedule-mode sensors: submit a Vertex AI custom job or an
   Azure ML command job, chosen by which connection exists and where the lake is, then poll it; a retry
   re-attaches to the run's job) → **vertex_model** / **azureml_model**: the model folder the container
   wrote into the lake through the cloud's storage mount.
   **trained_model** joins the branches and emits `compute_spent` (backend, device, train seconds).
3. **evaluate** — held-out perplexity (per token and per word) of the challenger, of the untrained start
   and of the current champion on the same texts; seeded sampled generations from fixed prompts with
   repetition rate and distinct-1/2; registers the version (safetensors + tokenizer + config + metrics) and writes
   `reports/llm_fine_tuning/v<version>/report.md`.
4. **gate** — promotes when the word perplexity improves on the champion's by `min_improvement` (first
   model: below `max_perplexity`) and the generation checks pass; otherwise rejects with reasons, all
   through the shared model lifecycle.
5. **promote** emits Asset `textgen_model`; **investigate** alerts with the reasons and the report;
   **hand_to_canary** (`promotion=canary`, the default, once a champion exists): the passing challenger
   keeps status `challenger` and is named on Asset `challenger_registered`, so **canary_deploy** serves
   both text generators on replayed prompts (errors, p95 latency, quality-gate pass rate) and alone
   promotes or rolls it back.

`base_model`: `local:tiny-gpt2` (offline, from scratch), a `textgen` registry version (continued
training) or an allow-listed hub id (`gpt2`, `distilgpt2`, Variable `genai_allowed_models`).
See docs/llm_fine_tuning.md (design, measured numbers, what the cloud paths still need).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import TriggerRule, dag, task

from genai_airflow.gpu.operators import GPUJobOperator
from genai_airflow.llm.operators import CloudTrainingSensor, SageMakerFineTuneOperator
from include.llm import TEXTGEN_MODEL
from include.llm.config import FineTuneConfig
from include.platform.assets import CHALLENGER_REGISTERED, COMPUTE_SPENT
from include.platform.notify import task_failure_alert

#: The cloud sensors' own limit (all pokes of a try together); the Param cloud_max_runtime_minutes (+ 30 min) is enforced per job, from its
#: creation time (include.llm.steps.cloud_train), and the cloud stops the job at that limit itself.
CLOUD_WAIT_LIMIT_S = (7 * 24 + 1) * 3600


def _train(prepared: dict) -> dict:
    """Runs inside GPUJobOperator, after it pinned the GPU (or chose the CPU)."""
    from airflow.sdk import get_current_context

    from include.llm import steps

    context = get_current_context()
    return steps.train(FineTuneConfig.from_params(context["params"]), prepared, context)


@dag(
    dag_id="llm_fine_tuning",
    dag_display_name="LLM fine-tuning (textgen champion)",
    description="Validate a text corpus, train a BPE tokenizer and a GPT-2-style LM with checkpoints, gate on "
                "held-out perplexity and generation checks, hand to canary_deploy (or promote) textgen.",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genai", "llm", "training", "models"],
    params=FineTuneConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "genai-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def llm_fine_tuning():
    @task(multiple_outputs=False, execution_timeout=pendulum.duration(minutes=30))
    def prepare(params=None, **context) -> dict:
        from include.llm import steps

        return steps.prepare(FineTuneConfig.from_params(params), context)

    @task.branch
    def backend(params=None) -> str:
        from include.llm import steps

        return steps.backend(FineTuneConfig.from_params(params))

    @task(multiple_outputs=True)
    def sagemaker_job(prepared: dict, params=None, **context) -> dict:
        from include.llm import steps

        return steps.sagemaker_job(FineTuneConfig.from_params(params), prepared, context)

    @task(multiple_outputs=False, execution_timeout=pendulum.duration(minutes=30))
    def sagemaker_model(job: dict, params=None, **context) -> dict:
        from include.llm import steps

        return steps.sagemaker_model(FineTuneConfig.from_params(params), job, context)

    @task(multiple_outputs=False, execution_timeout=pendulum.duration(minutes=30))
    def vertex_model(job: dict, **context) -> dict:
        from include.llm import steps

        return steps.cloud_model(job, context)

    @task(multiple_outputs=False, execution_timeout=pendulum.duration(minutes=30))
    def azureml_model(job: dict, **context) -> dict:
        from include.llm import steps

        return steps.cloud_model(job, context)

    @task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, outlets=[COMPUTE_SPENT])
    def trained_model(local: dict | None, sagemaker: dict | None, vertex: dict | None, azureml: dict | None,
                      **context) -> dict:
        from include.llm import steps

        return steps.trained_model(local, sagemaker or vertex or azureml, context)

    @task(multiple_outputs=False, execution_timeout=pendulum.duration(minutes=30))
    def evaluate(prepared: dict, trained: dict, params=None) -> dict:
        from include.llm import steps

        return steps.evaluate(FineTuneConfig.from_params(params), prepared, trained)

    @task.branch
    def gate(evaluated: dict, params=None, **context) -> str:
        from include.llm import steps

        return steps.gate(FineTuneConfig.from_params(params), evaluated, context)

    @task(multiple_outputs=False, outlets=[TEXTGEN_MODEL])
    def promote(evaluated: dict, **context) -> dict:
        from include.llm import steps

        return steps.promote(evaluated, context)

    @task(multiple_outputs=False, outlets=[CHALLENGER_REGISTERED])
    def hand_to_canary(evaluated: dict, **context) -> dict:
        """promotion=canary: the challenger keeps its alias, the champion stays; canary_deploy decides."""
        from include.llm import steps

        return steps.hand_to_canary(evaluated, context)

    @task(multiple_outputs=False)
    def investigate(evaluated: dict, **context) -> dict:
        from include.llm import steps

        return steps.investigate(evaluated, context)

    prepared = prepare()
    # GPUJobOperator: a free GPU pinned by CUDA_VISIBLE_DEVICES (bf16 autocast there), CPU when the worker has
    # none; pool gpu admits one training per free GPU (autoscaling_monitor sizes it; 1 slot without a GPU).
    local = GPUJobOperator(
        task_id="train", pool="gpu", gpu_count=1, no_gpu_policy="cpu", python_callable=_train,
        op_kwargs={"prepared": prepared}, execution_timeout=pendulum.duration(hours=3))
    job = sagemaker_job(prepared)
    sagemaker_train = SageMakerFineTuneOperator(
        task_id="sagemaker_train", config=job["config"], aws_conn_id=job["aws_conn_id"], deferrable=True,
        check_interval=60, execution_timeout=pendulum.duration(hours=4))
    # Vertex AI / Azure ML: reschedule-mode sensors, each poke plans from the cloud's own view of the run's jobs
    # (create, re-attach or finish), so a reschedule or a retry never starts a second job.
    vertex_job, azureml_job = (
        CloudTrainingSensor(task_id=f"{name}_train", backend=name, prepared=prepared, poke_interval=60,
                            timeout=CLOUD_WAIT_LIMIT_S)
        for name in ("vertex", "azureml"))
    backend() >> [local, job, vertex_job, azureml_job]
    trained = trained_model(local.output, sagemaker_model(sagemaker_train.output), vertex_model(vertex_job.output),
                            azureml_model(azureml_job.output))
    evaluated = evaluate(prepared, trained)
    gate(evaluated) >> [promote(evaluated), hand_to_canary(evaluated), investigate(evaluated)]


llm_fine_tuning()
