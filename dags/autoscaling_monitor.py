"""
### Autoscaling monitor: metrics → an explainable HPA-style decision → a real scaling action

Every 15 minutes (as in the article's `scalable_generative_ai_workflow`) this DAG runs the control
loop of the GenAI batch workers and nothing else: **collect_metrics** (worker CPU / memory, GPU
utilisation and free memory from NVML, queued + running task instances per pool from the REST API,
pending request objects under `raw/requests/pending`), **decide** (the Kubernetes HPA algorithm:
per-metric proposals, tolerance, stabilisation window, step limits, min/max, $/hour ceiling —
every step explained and recorded in warehouse table `scaling_decisions`), **scale** (resize the
Airflow pool `inference`, or patch a Kubernetes Deployment/HPA, or an AWS Application Auto Scaling
target; `dry_run` changes nothing) and **gpu_admission** (the `gpu` pool's slots follow free GPU
memory / per-task footprint). Without an API server the queue metric and the pool action are
recorded as unavailable / skipped with the reason, and the run still succeeds.

The work itself runs elsewhere, at its own cadence: `batch_inference` (on `pending_requests`, its
batches in the pool this DAG sizes) and `autoscaling_whatif_replay` (daily, the policy replayed on
the day's metrics trace). Namespaces, resource ids and connection ids are Variables
`genai_scaling_*`, not Params. Docs: `docs/autoscaling_monitor.md`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from include.platform.notify import task_failure_alert
from include.scaling.config import MonitorConfig


@dag(
    dag_id="autoscaling_monitor",
    dag_display_name="Autoscaling monitor (HPA-style, GPU-aware)",
    description="Every 15 min: measure queue, pending work, GPU and host load; decide replicas like a Kubernetes "
                "HPA; resize the inference pool (or Kubernetes / AWS).",
    doc_md=__doc__,
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["scaling", "gpu", "platform"],
    params=MonitorConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "ml-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def autoscaling_monitor():
    @task(multiple_outputs=False)
    def collect_metrics(params=None) -> dict:
        from include.scaling import monitor

        return monitor.collect_metrics(MonitorConfig.from_params(params))

    @task(multiple_outputs=False)
    def decide(metrics: dict, params=None, run_id=None, dag_run=None) -> dict:
        from include.scaling import monitor

        now = dag_run.run_after or dag_run.logical_date
        return monitor.decide(MonitorConfig.from_params(params), metrics, run_id, now)

    @task(multiple_outputs=False)
    def scale(decision: dict, metrics: dict, params=None, run_id=None) -> dict:
        from include.scaling import monitor

        return monitor.scale(MonitorConfig.from_params(params), decision, metrics, run_id)

    @task(multiple_outputs=False)
    def gpu_admission(params=None) -> dict:
        from include.scaling import monitor

        return monitor.admit_gpu(MonitorConfig.from_params(params))

    metrics = collect_metrics()
    scale(decide(metrics), metrics)
    metrics >> gpu_admission()


autoscaling_monitor()
