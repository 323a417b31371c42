"""
### Autoscaling monitor: metrics → an explainable HPA-style decision → a real scaling action

Every 15 minutes (as in the article's `scalable_generative_ai_workflow`) this DAG measures the load
on the GenAI batch workers, decides how many workers they should have, applies that decision and
fans the waiting work out over that many parallel batches.

1. **collect_metrics**: CPU and memory of the worker (psutil), GPU utilisation and free memory
   (NVML, the counters DCGM exporter publishes; none on a CPU-only machine), queue depth = queued +
   running task instances per pool/queue from the Airflow REST API (what KEDA's Airflow scaler
   counts), and pending work = objects under a lake prefix (`raw/requests/pending` by default; only
   prefixes under `raw/requests/` that an operator allowed, since processed objects are deleted there).
   Without an API server (`make run` without `make start`) the queue metric is marked unavailable
   with the reason and the run goes on.
2. **decide**: the Kubernetes HPA algorithm as a pure, unit-tested function:
   `desired = ceil(current × metric / target)` per metric, tolerance 0.1, the largest proposal wins,
   scale-down stabilisation window (the highest recommendation of the last N seconds), step limits
   (up: max(+4, ×2), down: configurable), min/max replicas, then a $/hour ceiling. Every step is
   written to the task log and the whole explanation to the warehouse table `scaling_decisions`.
3. **scale**: the embedded default resizes the Airflow pool `inference` through the REST API (visible
   at once under Admin → Pools). `action=kubernetes` patches a Deployment's replicas or its HPA's bounds
   (cncf-kubernetes hook); `action=aws` registers an Application Auto Scaling target floor and a
   target-tracking policy (amazon provider). `dry_run=true` decides, explains and records, but
   changes nothing. Without an API server the pool action is skipped and recorded as `skipped` with
   the reason. Pools, connection ids and prefixes come from allow-lists (Variables
   `genai_allowed_pools`, `genai_allowed_connections`, `genai_allowed_source_prefixes`); `default_pool`
   is never resized.
4. **gpu_admission**: sizes the `gpu` pool from free GPU memory / per-task footprint, so GPU tasks
   queue instead of running out of memory.
5. **wait_for_gpu_headroom**: the article's "wait for optimal conditions" sensor, deferrable (no worker
   slot while waiting); with no GPU it follows `no_gpu_policy`.
6. **plan_batches → process_batch**: the pending requests are split into the decided number of batches
   and processed by a mapped `GPUJobOperator` in the resized pool (CUDA_VISIBLE_DEVICES pinned to free
   GPUs, CPU fallback without one).
7. **what_if**: replays the recorded metrics trace of the day (`raw/metrics/trace-<date>.parquet`)
   through the same policy and writes a chart of replicas, queue and cost with a Markdown report under
   `reports/scaling/<date>/`.

Docs: `docs/autoscaling_monitor.md`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from genai_airflow.gpu.operators import GPUJobOperator
from genai_airflow.gpu.sensors import GPUUtilizationSensor
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.scaling.guards import CONN_ID_PATTERN, PENDING_PREFIX_PATTERN, POOL_PATTERN

#: The pool the batch tasks run in; the default action resizes it.
BATCH_POOL = "inference"
#: A mapped batch that runs longer than this is failed (and retried) instead of holding its slot forever.
BATCH_TIMEOUT = pendulum.duration(minutes=30)


PARAMS = {
    "dry_run": Param(False, type="boolean",
                     description="Decide, explain and record the decision, but change nothing (no resize, no batches)."),
    "action": Param("pool", type="string", enum=["pool", "kubernetes", "aws"],
                    description="Where the decision is applied: an Airflow pool (default, local), a Kubernetes "
                                "Deployment/HPA, or an AWS Application Auto Scaling target."),
    "pool_name": Param(BATCH_POOL, type="string", pattern=POOL_PATTERN,
                       description="Pool resized by action=pool: one of the project's pools (inference, gpu; "
                                   "more via Variable genai_allowed_pools), never default_pool."),
    "queue_pools": Param([BATCH_POOL], type="array", items={"type": "string", "pattern": POOL_PATTERN},
                         description="Pools whose queued + running task instances count as queue depth "
                                     "(inference, gpu, llm_api; more via Variable genai_allowed_pools)."),
    "pending_prefix": Param("raw/requests/pending", type="string", pattern=PENDING_PREFIX_PATTERN,
                            description="Lake prefix under raw/requests/ whose objects are pending work; processed "
                                        "objects are removed from it. Others via Variable "
                                        "genai_allowed_source_prefixes."),
    "min_replicas": Param(1, type="integer", minimum=0, description="Never scale below this."),
    "max_replicas": Param(8, type="integer", minimum=1, description="Never scale above this."),
    "target_queue_per_replica": Param(4.0, type="number", minimum=0,
                                      description="Queued + running tasks one replica should carry (0 = off)."),
    "target_pending_per_replica": Param(10.0, type="number", minimum=0,
                                        description="Pending objects one replica should carry (0 = off)."),
    "target_gpu_utilization": Param(70.0, type="number", minimum=0, maximum=100,
                                    description="Target mean GPU utilisation in percent (0 = off)."),
    "target_cpu_percent": Param(0.0, type="number", minimum=0, maximum=100,
                                description="Target worker CPU percent (0 = off: host CPU is shared, not the workload's)."),
    "tolerance": Param(0.1, type="number", minimum=0, maximum=1,
                       description="HPA tolerance: no change while |metric/target - 1| <= tolerance."),
    "scale_down_stabilization_seconds": Param(1800, type="integer", minimum=0,
                                              description="Scale down only to the highest recommendation of this "
                                                          "window (HPA default 300 s; 1800 s = two earlier runs)."),
    "scale_up_max_pods": Param(4, type="integer", minimum=0, description="Scale-up step limit in replicas per run."),
    "scale_up_max_percent": Param(100.0, type="number", minimum=0,
                                  description="Scale-up step limit in percent per run (the larger limit applies)."),
    "scale_down_max_percent": Param(50.0, type="number", minimum=0, maximum=100,
                                    description="Scale-down step limit in percent per run."),
    "cost_per_replica_hour": Param(1.2, type="number", minimum=0,
                                   description="$ per replica-hour (e.g. one GPU worker)."),
    "max_cost_per_hour": Param(8.0, type=["number", "null"], minimum=0,
                               description="$ per hour ceiling for the scaled fleet (null = none)."),
    "kubernetes_conn_id": Param("kubernetes_default", type="string", pattern=CONN_ID_PATTERN,
                                description="For action=kubernetes (others via Variable genai_allowed_connections)."),
    "k8s_namespace": Param("genai", type="string", description="For action=kubernetes."),
    "k8s_name": Param("batch-inference", type="string", description="Deployment (or HPA) name."),
    "k8s_mode": Param("deployment", type="string", enum=["deployment", "hpa"],
                      description="Patch the Deployment's replicas, or the bounds of the HPA that owns it."),
    "aws_conn_id": Param("aws_default", type="string", pattern=CONN_ID_PATTERN,
                         description="For action=aws (others via Variable genai_allowed_connections)."),
    "aws_resource_id": Param("service/genai/batch-inference", type="string",
                             description="Application Auto Scaling ResourceId (ECS service or SageMaker variant)."),
    "aws_kind": Param("ecs", type="string", enum=["ecs", "sagemaker"], description="Scalable target kind."),
    "gpu_pool": Param("gpu", type="string", pattern=POOL_PATTERN,
                      description="Pool whose slots follow free GPU memory / footprint (allow-listed like pool_name)."),
    "gpu_task_footprint_mib": Param(8192, type="integer", minimum=1,
                                    description="GPU memory one GPU task needs (weights + activations), MiB."),
    "gpu_util_threshold": Param(90.0, type="number", minimum=0, maximum=100,
                                description="Batches start once max GPU utilisation is below this."),
    "no_gpu_policy": Param("proceed", type="string", enum=["proceed", "wait", "fail", "skip"],
                           description="What the GPU sensor does on a machine without GPU."),
    "what_if": Param("auto", type="string", enum=["auto", "always", "never"],
                     description="Replay the day's metrics trace: auto = once per day when a trace exists."),
    "throughput_per_replica": Param(16.0, type="number", minimum=0.1,
                                    description="What-if model: tasks one replica completes per 15 minutes."),
}


def _process_batch(uris: list[str], day: str, batch_index: int, prefix: str = "raw/requests/pending") -> dict:
    """Runs inside GPUJobOperator with CUDA_VISIBLE_DEVICES pinned (or empty on CPU)."""
    from include.scaling.batches import process

    return process(uris, day, batch_index, prefix)


@dag(
    dag_id="autoscaling_monitor",
    dag_display_name="Autoscaling monitor (HPA-style, GPU-aware)",
    description="Measure queue, GPU and host load; decide replicas like a Kubernetes HPA; resize; fan out batches.",
    doc_md=__doc__,
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["scaling", "gpu", "platform"],
    params=PARAMS,
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "ml-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def autoscaling_monitor():
    @task(multiple_outputs=False)
    def collect_metrics(params=None) -> dict:
        from include.platform.airflow_api import AirflowAPI
        from include.scaling import monitor

        return monitor.collect_metrics(params, AirflowAPI.from_settings())

    @task(multiple_outputs=False)
    def decide(metrics: dict, params=None, run_id=None, dag_run=None) -> dict:
        from include.platform.airflow_api import AirflowAPI
        from include.scaling import actions, decisions, guards, monitor
        from include.scaling.policy import Observation, config_from_params
        from include.scaling.policy import decide as hpa_decide

        guards.check_params(params)
        now = dag_run.run_after or dag_run.logical_date
        cfg = config_from_params(params)
        target = actions.target_name(params)
        current, current_note = monitor.current_replicas(
            params, AirflowAPI.from_settings() if params["action"] == "pool" else None)
        obs = Observation(timestamp=now, current_replicas=current, queue_depth=metrics["queue_depth"],
                          pending_objects=metrics["pending_objects"], gpu_utilization=metrics["gpu_util_mean"],
                          cpu_percent=metrics["cpu_percent"], memory_percent=metrics["memory_percent"])
        past = decisions.history(params["action"], target,
                                 decisions.window_start(now, max(cfg.scale_down_stabilization_s,
                                                                 cfg.scale_up_stabilization_s)), run_id)
        decision = monitor.annotate(hpa_decide(obs, cfg, past), metrics, current_note)
        print(f"Scaling decision for {params['action']}:{target}\n  " + "\n  ".join(decision.explanation))
        decisions.record(run_id, decision, metrics, params["action"], target, params["dry_run"], status="decided")
        return {**decision.to_dict(), "target": target}

    @task(multiple_outputs=False)
    def scale(decision: dict, metrics: dict, params=None, run_id=None) -> dict:
        from include.platform.airflow_api import AirflowAPI
        from include.scaling import decisions, guards, monitor

        guards.check_params(params)
        dry_run = bool(params["dry_run"])
        api = AirflowAPI.from_settings() if params["action"] == "pool" else None
        result = monitor.apply_decision(params, int(decision["desired_replicas"]), dry_run, api)
        details = {**result, "unavailable": metrics.get("unavailable") or {}}
        decisions.record(run_id, decisions.decision_from_dict(decision), metrics, params["action"],
                         decision["target"], dry_run, status=result["status"],
                         applied_replicas=monitor.applied_replicas(result, dry_run), details=details)
        return result

    @task(multiple_outputs=False)
    def gpu_admission(params=None) -> dict:
        from include.gpu import admission
        from include.platform.airflow_api import AirflowAPI
        from include.scaling import guards

        targets = guards.check_params(params)
        return admission.admit(AirflowAPI.from_settings(), targets.gpu_pool, params["gpu_task_footprint_mib"],
                               dry_run=bool(params["dry_run"]))

    wait_for_gpu_headroom = GPUUtilizationSensor(
        task_id="wait_for_gpu_headroom",
        threshold="{{ params.gpu_util_threshold }}",
        condition="below",
        no_gpu_policy="{{ params.no_gpu_policy }}",
        deferrable=True,
        poke_interval=60,
        timeout=600,
    )

    @task(multiple_outputs=False)
    def plan_batches(decision: dict, params=None, **context) -> list[dict]:
        from include.platform.runtime import run_date
        from include.scaling import guards
        from include.scaling.batches import split
        from include.scaling.metrics import list_pending

        prefix = guards.check_params(params).pending_prefix
        if params["dry_run"]:
            print("Dry run: no batches are started")
            return []
        uris = list_pending(prefix)
        batches = split(uris, int(decision["desired_replicas"]))
        day = run_date(context).isoformat()
        print(f"{len(uris)} pending object(s) -> {len(batches)} batch(es) for {decision['desired_replicas']} replicas")
        return [{"uris": b, "day": day, "batch_index": i, "prefix": prefix} for i, b in enumerate(batches)]

    @task(multiple_outputs=False, inlets=[assets.METRIC_TRACES])
    def what_if(params=None, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.platform import storage
        from include.platform.runtime import run_date
        from include.scaling.policy import config_from_params
        from include.scaling.whatif import run_report

        if params["what_if"] == "never":
            raise AirflowSkipException("what_if=never")
        day = run_date(context).isoformat()
        trace_path = storage.lake_path("raw", "metrics", f"trace-{day}.parquet")
        out_dir = storage.lake_path("reports", "scaling", day)
        if not trace_path.exists():
            raise AirflowSkipException(f"no metrics trace at {trace_path} (seed_demo_data writes one)")
        if params["what_if"] == "auto" and (out_dir / "what-if.md").exists():
            raise AirflowSkipException(f"what-if report for {day} already exists (what_if=always to redo)")
        cfg = config_from_params(params)
        return run_report(storage.read_parquet(trace_path), cfg, out_dir, str(trace_path),
                          params["throughput_per_replica"])

    metrics = collect_metrics()
    decision = decide(metrics)
    scaled = scale(decision, metrics)
    admitted = gpu_admission()
    metrics >> admitted
    batches = plan_batches(decision)
    [scaled, admitted] >> wait_for_gpu_headroom >> batches
    GPUJobOperator.partial(
        task_id="process_batch",
        pool=BATCH_POOL,
        gpu_count=1,
        python_callable=_process_batch,
        no_gpu_policy="cpu",
        max_active_tis_per_dagrun=8,
        execution_timeout=BATCH_TIMEOUT,
        map_index_template="batch {{ task.op_kwargs['batch_index'] }}",
    ).expand(op_kwargs=batches)
    what_if()


autoscaling_monitor()
