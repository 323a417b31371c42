"""
### Batch inference: the pending requests, scored by the real sentiment model in GPU batches

The article's `scalable_generative_ai_workflow` fans pending work out over the replicas the
autoscaler decided on. Here that is two DAGs at two cadences: `autoscaling_monitor` sizes the pool
`inference` every 15 minutes; this DAG runs when requests arrive (asset `pending_requests`) or on
demand, and its batches run in that pool — so the autoscaler's decision is how many run at once.

1. **plan**: the request objects under `raw/requests/pending` (at most `max_items`) in batches of
   `items_per_batch`; nothing pending → the run is skipped.
2. **wait_for_gpu_headroom**: deferrable NVML sensor (no worker slot while waiting); without a GPU it
   follows `no_gpu_policy` (default: proceed, the batches run on CPU).
3. **infer_batch** (mapped `GPUJobOperator`, pool `inference`): `sentiment@champion` from the registry,
   loaded and run by include/sentiment's own code on the pinned GPU (CPU fallback); one prediction
   per request with its device and latency goes to the lake, then the request is removed; malformed
   requests are quarantined byte for byte with their reason.
4. **record**: warehouse `batch_predictions` (one row per request), `batch_inference_runs` (latency
   p50/p95, items/s, device, cost per item) and asset `compute_spent` with what the run spent.
Docs: `docs/batch_inference.md`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from genai_airflow.gpu.operators import GPUJobOperator
from genai_airflow.gpu.sensors import GPUUtilizationSensor
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.scaling.config import BatchInferenceConfig

#: The pool the batches run in; autoscaling_monitor resizes it.
BATCH_POOL = "inference"
#: A batch that runs longer than this is failed (and retried) instead of holding its slot forever.
BATCH_TIMEOUT = pendulum.duration(minutes=30)


def _infer_batch(**kwargs) -> dict:
    """Runs inside GPUJobOperator with CUDA_VISIBLE_DEVICES pinned (or empty on CPU)."""
    from include.scaling.batches import infer_batch

    return infer_batch(**kwargs)


@dag(
    dag_id="batch_inference",
    dag_display_name="Batch inference (sentiment, GPU batches)",
    description="On pending_requests: score every pending request with sentiment@champion in mapped GPU batches "
                "(pool inference); predictions, latency, items/s and cost per item to the warehouse.",
    doc_md=__doc__,
    schedule=[assets.PENDING_REQUESTS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["scaling", "gpu", "sentiment"],
    params=BatchInferenceConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "ml-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def batch_inference():
    @task(multiple_outputs=False)
    def plan(params=None, run_id=None, **context) -> list[dict]:
        from include.platform.runtime import run_date
        from include.scaling.batches import plan as plan_batches

        return plan_batches(BatchInferenceConfig.from_params(params), run_date(context), run_id)

    wait_for_gpu_headroom = GPUUtilizationSensor(
        task_id="wait_for_gpu_headroom",
        threshold="{{ params.gpu_util_threshold }}",
        condition="below",
        no_gpu_policy="{{ params.no_gpu_policy }}",
        deferrable=True,
        poke_interval=60,
        timeout=600,
    )

    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def record(results: list, params=None, run_id=None, **context) -> dict:
        from include.platform.runtime import run_date
        from include.scaling.batches import record as record_run

        return record_run(BatchInferenceConfig.from_params(params), list(results), run_date(context), run_id, context)

    batches = plan()
    wait_for_gpu_headroom >> batches
    scored = GPUJobOperator.partial(
        task_id="infer_batch",
        pool=BATCH_POOL,
        gpu_count=1,
        python_callable=_infer_batch,
        no_gpu_policy="cpu",
        max_active_tis_per_dagrun=8,
        execution_timeout=BATCH_TIMEOUT,
        map_index_template="batch {{ task.op_kwargs['batch_index'] }}",
    ).expand(op_kwargs=batches)
    record(scored.output)


batch_inference()
