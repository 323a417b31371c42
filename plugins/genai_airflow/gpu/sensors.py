"""``GPUUtilizationSensor``: wait until the worker's GPUs are quiet (or busy) enough.

The article's ``auto_scaling_analytics`` DAG waits in a reschedule-mode sensor "for optimal
conditions" before the analytics workload; its ``GPUUtilizationSensor`` polls a cloud metric. Ours
reads NVML on the worker (same counters as DCGM exporter) and can defer to the triggerer so waiting
holds no worker slot.

No GPU is a normal situation (a laptop, a CPU-only worker, CI), not a crash. ``no_gpu_policy``:

* ``proceed`` (default): succeed at once and report ``gpu_available: False`` (downstream runs on CPU),
* ``wait``: keep waiting (until ``timeout``), for workers whose driver comes and goes,
* ``fail``: fail without retrying and say how to fix it,
* ``skip``: skip this task (and, by trigger rules, what depends on it).

``threshold``, ``condition`` and ``no_gpu_policy`` are templated, so a DAG Param can drive them:
``no_gpu_policy="{{ params.no_gpu_policy }}"``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from genai_airflow.gpu.triggers import GPUUtilizationTrigger
from include.gpu import nvml
from include.gpu.utilization import AGGREGATES, CONDITIONS, METRICS, NO_GPU_POLICIES, condition_met, observed_value


class GPUUtilizationSensor(BaseSensorOperator):
    """Succeed when the aggregated GPU utilisation (or memory use) is ``condition`` ``threshold``.

    :param threshold: percent (0-100).
    :param condition: ``below`` (wait for headroom, the usual case) or ``above`` (wait for load).
    :param metric: ``utilization`` (NVML gpu busy %, DCGM_FI_DEV_GPU_UTIL) or ``memory_used``.
    :param aggregate: how to combine several devices: ``max`` (default: every GPU must qualify for
        ``below``), ``mean`` or ``min``.
    :param device_indices: only these NVML indices (default all).
    :param no_gpu_policy: what to do when there is no GPU, see the module docstring.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields = ("threshold", "condition", "no_gpu_policy")
    ui_color = "#76b900"  # NVIDIA green

    def __init__(
        self,
        *,
        threshold: float | str = 70.0,
        condition: str = "below",
        metric: str = "utilization",
        aggregate: str = "max",
        device_indices: list[int] | None = None,
        no_gpu_policy: str = "proceed",
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold
        self.condition = condition
        self.metric = metric
        self.aggregate = aggregate
        self.device_indices = device_indices
        self.no_gpu_policy = no_gpu_policy
        self.deferrable = deferrable

    def _validate(self) -> None:
        # Checked at run time because templated values are only known after rendering.
        problems = []
        if self.condition not in CONDITIONS:
            problems.append(f"condition={self.condition!r} (use one of {CONDITIONS})")
        if self.metric not in METRICS:
            problems.append(f"metric={self.metric!r} (use one of {METRICS})")
        if self.aggregate not in AGGREGATES:
            problems.append(f"aggregate={self.aggregate!r} (use one of {AGGREGATES})")
        if self.no_gpu_policy not in NO_GPU_POLICIES:
            problems.append(f"no_gpu_policy={self.no_gpu_policy!r} (use one of {NO_GPU_POLICIES})")
        try:
            self.threshold = float(self.threshold)
        except (TypeError, ValueError):
            problems.append(f"threshold={self.threshold!r} (a number of percent)")
        if problems:
            raise AirflowFailException(f"{self.task_id}: invalid " + "; ".join(problems))

    def _no_gpu(self, reason: str) -> PokeReturnValue:
        policy = self.no_gpu_policy
        if policy == "proceed":
            self.log.warning("No GPU on this worker (%s); no_gpu_policy=proceed: continuing without one", reason)
            return PokeReturnValue(True, {"gpu_available": False, "reason": reason, "policy": policy})
        if policy == "wait":
            self.log.info("No GPU on this worker (%s); no_gpu_policy=wait: poking again", reason)
            return PokeReturnValue(False)
        if policy == "skip":
            raise AirflowSkipException(f"no GPU on this worker ({reason}); no_gpu_policy=skip")
        raise AirflowFailException(
            f"no GPU on this worker ({reason}). Run this task on a GPU worker (queue/pod with nvidia.com/gpu) "
            "or set no_gpu_policy='proceed' to continue on CPU."
        )

    def _judge(self, snapshot: nvml.GPUSnapshot) -> PokeReturnValue:
        if not snapshot.available:
            return self._no_gpu(snapshot.reason)
        value = observed_value(snapshot, self.metric, self.aggregate)
        met = value is not None and condition_met(value, float(self.threshold), self.condition)
        self.log.info("GPU %s %s over %d device(s) = %.1f%% (want %s %.1f%%): %s", self.aggregate, self.metric,
                      snapshot.count, value, self.condition, self.threshold, "met" if met else "not yet")
        if not met:
            return PokeReturnValue(False)
        return PokeReturnValue(True, {"gpu_available": True, "value": value, "gpus": snapshot.to_dict()["gpus"]})

    def poke(self, context: Any) -> PokeReturnValue:
        return self._judge(nvml.probe(self.device_indices))

    def execute(self, context: Any) -> Any:
        self._validate()
        if not self.deferrable:
            return super().execute(context)
        # Check once on the worker: when the answer is already known, deferring would only add latency.
        first = self._judge(nvml.probe(self.device_indices))
        if first.is_done:
            return first.xcom_value
        self.defer(
            trigger=GPUUtilizationTrigger(
                threshold=float(self.threshold),
                condition=self.condition,
                metric=self.metric,
                aggregate=self.aggregate,
                device_indices=self.device_indices,
                poll_interval=float(self.poke_interval),
                no_gpu_policy=self.no_gpu_policy,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )
        return None

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        if not event:
            raise AirflowFailException(f"{self.task_id}: trigger returned no event")
        if event.get("status") == "met":
            self.log.info("GPU condition met after %s poll(s): %.1f%%", event.get("polls"), event["value"])
            return {"gpu_available": True, "value": event["value"], "gpus": event["snapshot"]["gpus"]}
        if event.get("status") == "no_gpu":
            result = self._no_gpu(str(event.get("reason", "")))
            return result.xcom_value
        raise AirflowFailException(f"{self.task_id}: unexpected trigger event {event!r}")
