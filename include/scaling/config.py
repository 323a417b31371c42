"""The scaling domain's typed configs: ONE home for every default of the autoscaler and its batch job.

Before, the policy's dataclass said 10 replicas / 20 pending per replica / 300 s stabilisation while
the monitor's form said 8 / 10 / 1800 s, so a unit test and a run disagreed about the same policy.
Now :class:`ScalingPolicyConfig` holds the HPA policy once (the monitor's values, which the e2e runs
and the what-if replay were tuned with), and each DAG's config extends it:

* :class:`MonitorConfig` — ``autoscaling_monitor`` (the control loop every 15 minutes): the policy,
  where the decision is applied, what is measured, GPU admission. Namespaces, resource ids and
  connection ids are deployment *wiring* (Variables ``genai_scaling_*``), never in the trigger form;
* :class:`WhatIfConfig` — ``autoscaling_whatif_replay`` (daily): the policy replayed on a trace;
* :class:`BatchInferenceConfig` — ``batch_inference`` (on ``pending_requests``): the model, batch
  sizes, devices and prices.

Reach-granting values (pools, lake prefixes, connection ids) are checked in :meth:`check` through
:mod:`include.scaling.guards` (allow-lists an operator extends through Variables), so a bad value
fails ``from_params`` before any I/O. Importing this module is cheap (DAG files import it at parse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from include.platform.config import DagConfig, knob, wiring
from include.platform.errors import ConfigError
from include.scaling.guards import PENDING_PREFIX_PATTERN, POOL_PATTERN
from include.sentiment.modeling import MODEL_PARAM_PATTERN

REPLICAS = "Replicas"
TARGETS = "Targets (0 = metric off)"
BEHAVIOUR = "Behaviour (HPA)"
COST = "Cost"

_DATE_PATTERN = r"^$|^\d{4}-\d{2}-\d{2}$"


@dataclass(frozen=True)
class ScalingPolicyConfig(DagConfig):
    """Targets and limits of the HPA-style policy (:func:`include.scaling.policy.decide`)."""

    min_replicas: int = knob(1, "Never scale below this.", section=REPLICAS, minimum=0, maximum=1000)
    max_replicas: int = knob(8, "Never scale above this.", section=REPLICAS, minimum=1, maximum=1000)
    target_queue_per_replica: float = knob(
        4.0, "Queued + running task instances one replica should carry.", section=TARGETS, minimum=0)
    target_pending_per_replica: float = knob(
        10.0, "Pending request objects one replica should carry.", section=TARGETS, minimum=0)
    target_gpu_utilization: float = knob(
        70.0, "Target mean GPU utilisation in percent.", section=TARGETS, minimum=0, maximum=100)
    target_cpu_percent: float = knob(
        0.0, "Target worker CPU percent (off by default: the host CPU is shared, not the workload's).",
        section=TARGETS, minimum=0, maximum=100)
    target_memory_percent: float = knob(
        0.0, "Target worker memory percent (off by default).", section=TARGETS, minimum=0, maximum=100)
    tolerance: float = knob(0.1, "HPA tolerance: no change while |metric/target - 1| <= tolerance.",
                            section=BEHAVIOUR, minimum=0, maximum=1)
    scale_down_stabilization_s: int = knob(
        1800, "Scale down only to the highest recommendation of this many seconds (HPA default 300 s; "
        "1800 s = the two runs before at a 15-minute cadence).", section=BEHAVIOUR, minimum=0, maximum=86_400)
    scale_up_stabilization_s: int = knob(
        0, "Scale up only to the lowest recommendation of this many seconds (HPA default 0 = react at once).",
        section=BEHAVIOUR, minimum=0, maximum=86_400)
    scale_up_max_pods: int = knob(4, "Scale-up step limit in replicas per decision.", section=BEHAVIOUR,
                                  minimum=0, maximum=1000)
    scale_up_max_percent: float = knob(
        100.0, "Scale-up step limit in percent per decision (the larger of the two limits applies).",
        section=BEHAVIOUR, minimum=0)
    scale_down_max_pods: int = knob(0, "Scale-down step limit in replicas per decision (0 = percent only).",
                                    section=BEHAVIOUR, minimum=0, maximum=1000)
    scale_down_max_percent: float = knob(50.0, "Scale-down step limit in percent per decision.",
                                         section=BEHAVIOUR, minimum=0, maximum=100)
    cost_per_replica_hour: float = knob(1.2, "$ per replica-hour (e.g. one GPU worker).", section=COST, minimum=0)
    max_cost_per_hour: float | None = knob(8.0, "$ per hour ceiling of the scaled fleet (null = none).",
                                           section=COST, type=["number", "null"], minimum=0)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        if self.min_replicas < 0 or self.max_replicas < max(self.min_replicas, 1):
            raise ConfigError(f"min_replicas {self.min_replicas} / max_replicas {self.max_replicas}: need "
                              "0 <= min_replicas <= max_replicas and max_replicas >= 1",
                              "raise max_replicas or lower min_replicas")
        for name in ("tolerance", "target_queue_per_replica", "target_pending_per_replica",
                     "target_gpu_utilization", "target_cpu_percent", "target_memory_percent"):
            if (getattr(self, name) or 0) < 0:
                raise ConfigError(f"{name} {getattr(self, name)} is negative", f"set {name} >= 0 (0 = off)")

    def policy_rows(self) -> list[tuple[str, object]]:
        """``(knob, value)`` of the policy part only (the what-if report prints them)."""
        return [(name, getattr(self, name)) for name in ScalingPolicyConfig.__dataclass_fields__]


@dataclass(frozen=True)
class MonitorConfig(ScalingPolicyConfig):
    """``autoscaling_monitor``: the policy, where its decision goes, what is measured, GPU admission."""

    SECTION_ORDER: ClassVar[tuple[str, ...]] = ("Run", "Action", "Metrics", REPLICAS, TARGETS, BEHAVIOUR, COST,
                                                "GPU admission")

    dry_run: bool = knob(False, "Decide, explain and record the decision, but change nothing.", section="Run")
    action: str = knob("pool", "Where the decision is applied: an Airflow pool (default, local), a Kubernetes "
                       "Deployment/HPA, or an AWS Application Auto Scaling target.", section="Action",
                       enum=["pool", "kubernetes", "aws"])
    pool_name: str = knob("inference", "Pool resized by action=pool (the pool batch_inference's batches run "
                          "in): one of the project's pools (more via Variable genai_allowed_pools), never "
                          "default_pool.", section="Action", pattern=POOL_PATTERN)
    k8s_mode: str = knob("deployment", "action=kubernetes: patch the Deployment's replicas, or the bounds of the "
                         "HPA that owns it.", section="Action", enum=["deployment", "hpa"])
    aws_kind: str = knob("ecs", "action=aws: the scalable target's kind.", section="Action",
                         enum=["ecs", "sagemaker"])
    queue_pools: list = knob(["inference"], "Pools whose queued + running task instances count as queue depth "
                             "(inference, gpu, llm_api; more via Variable genai_allowed_pools).", section="Metrics",
                             items={"type": "string", "pattern": POOL_PATTERN})
    pending_prefix: str = knob("raw/requests/pending", "Lake prefix under raw/requests/ whose objects are pending "
                               "work (others via Variable genai_allowed_source_prefixes).", section="Metrics",
                               pattern=PENDING_PREFIX_PATTERN)
    gpu_pool: str = knob("gpu", "Pool whose slots follow free GPU memory / footprint (allow-listed like "
                         "pool_name).", section="GPU admission", pattern=POOL_PATTERN)
    gpu_task_footprint_mib: int = knob(8192, "GPU memory one GPU task needs (weights + activations), MiB.",
                                       section="GPU admission", minimum=1, maximum=1_048_576)

    kubernetes_conn_id: str = wiring("scaling_kubernetes_conn_id", "kubernetes_default",
                                     "Connection of the cluster action=kubernetes patches (allow-listed by "
                                     "genai_allowed_connections).")
    k8s_namespace: str = wiring("scaling_k8s_namespace", "genai", "Namespace of the scaled Deployment / HPA.")
    k8s_name: str = wiring("scaling_k8s_name", "batch-inference", "Name of the scaled Deployment (or its HPA).")
    aws_conn_id: str = wiring("scaling_aws_conn_id", "aws_default",
                              "Connection action=aws uses (allow-listed by genai_allowed_connections).")
    aws_resource_id: str = wiring("scaling_aws_resource_id", "service/genai/batch-inference",
                                  "Application Auto Scaling ResourceId (ECS service or SageMaker variant).")

    def check(self) -> None:
        super().check()
        from include.scaling import guards

        guards.check_monitor(self)


@dataclass(frozen=True)
class WhatIfConfig(ScalingPolicyConfig):
    """``autoscaling_whatif_replay``: the policy above, replayed on a day's recorded metrics trace."""

    SECTION_ORDER: ClassVar[tuple[str, ...]] = ("Replay", REPLICAS, TARGETS, BEHAVIOUR, COST)

    run_date: str = knob("", "Replay the trace of this day (YYYY-MM-DD); empty = the run's date.",
                         section="Replay", pattern=_DATE_PATTERN)
    throughput_per_replica: float = knob(16.0, "Queue model: tasks one replica completes per 15-minute step.",
                                         section="Replay", minimum=0.1)
    overwrite: bool = knob(False, "Rewrite the day's report when one exists already.", section="Replay")


@dataclass(frozen=True)
class BatchInferenceConfig(DagConfig):
    """``batch_inference``: the pending requests, scored by the sentiment model in mapped GPU batches."""

    SECTION_ORDER: ClassVar[tuple[str, ...]] = ("Requests", "Model", "Device", "Cost")

    pending_prefix: str = knob("raw/requests/pending", "Lake prefix under raw/requests/ holding the pending "
                               "requests; each is removed once its prediction is safe in the lake (others via "
                               "Variable genai_allowed_source_prefixes).", section="Requests",
                               pattern=PENDING_PREFIX_PATTERN)
    items_per_batch: int = knob(64, "Requests per mapped batch (one GPUJobOperator task instance in pool "
                                "inference, whose slots the autoscaling monitor sizes).", section="Requests",
                                minimum=1, maximum=100_000)
    max_items: int = knob(10_000, "Requests taken per run at most (the rest wait for the next run).",
                          section="Requests", minimum=1, maximum=1_000_000)
    model: str = knob("sentiment@champion", "Registry version (sentiment@champion, sentiment/<n>) the requests are "
                      "scored with.", section="Model", pattern=MODEL_PARAM_PATTERN)
    model_batch_size: int = knob(16, "Texts per forward pass inside a batch (latency per item grows with it, "
                                 "items/s too).", section="Model", minimum=1, maximum=1024)
    precision: str = knob("fp32", "fp32, int8 (dynamic quantization, CPU only), bf16 (AMX CPUs, GPUs) or auto (the "
                          "fastest whose registered macro-F1 held). A version's distilled student serves when its "
                          "macro-F1 at that precision held too.", section="Model",
                          enum=["fp32", "int8", "bf16", "auto"])
    runtime: str = knob("auto", "auto: ONNX Runtime on CPU (the model's verified ONNX export), transformers on a "
                        "GPU and for precision=auto's bf16 / PyTorch int8 paths; transformers: the plain PyTorch "
                        "model. Falls back to transformers if no export can be had.", section="Model",
                        enum=["auto", "onnxruntime", "transformers"])
    threads: int = knob(0, "Torch CPU threads per batch (0 = all cores, at most 8).", section="Device",
                        minimum=0, maximum=64)
    gpu_util_threshold: float = knob(90.0, "Batches start once max GPU utilisation is below this.",
                                     section="Device", minimum=0, maximum=100)
    no_gpu_policy: str = knob("proceed", "What the GPU headroom sensor does on a machine without a GPU (the "
                              "batches then run on CPU).", section="Device",
                              enum=["proceed", "wait", "fail", "skip"])
    cpu_hour_usd: float = knob(0.192, "$ per hour of the CPU worker a batch runs on (m6i.xlarge on-demand, "
                               "us-east-1).", section="Cost", minimum=0)
    gpu_hour_usd: float = knob(1.006, "$ per hour of the GPU worker a batch runs on (g5.xlarge on-demand, "
                               "us-east-1).", section="Cost", minimum=0)

    def check(self) -> None:
        from include.scaling import guards

        guards.pending_prefix(self.pending_prefix)

    def hour_usd(self, device: str) -> float:
        return self.gpu_hour_usd if device.startswith("cuda") else self.cpu_hour_usd


__all__ = ["BatchInferenceConfig", "MonitorConfig", "ScalingPolicyConfig", "WhatIfConfig"]
