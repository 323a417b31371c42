"""``GPUJobOperator``: run a job on free GPUs, on this worker or in a Kubernetes pod.

The article's ``GPUJobOperator`` has a ``gpu_count`` and a ``pass`` where "GPU resource allocation
logic" should go. This one does the allocation:

* **Local worker** (default): read NVML, pick ``gpu_count`` devices that are idle enough
  (``max_utilization_percent``) and have room (``min_free_memory_mib``), pin them with
  ``CUDA_VISIBLE_DEVICES`` (by UUID, so NVML and CUDA agree on which device is which) and run a
  Python callable or a command. Airflow 3 runs every task in a fresh process, so CUDA is not
  yet initialised when the variable is set.

  A command is an **argv list, never a shell string**: its elements are templated one by one, so a
  Param holding ``x; rm -rf ~`` stays one literal argument. It runs in its own process group with a
  timeout (``command_timeout``, default the task's ``execution_timeout``, else one hour); at the
  timeout — or when Airflow kills the task — the whole group is terminated (SIGTERM, then SIGKILL
  after ``kill_grace_s``), so children a job spawned (data loaders, ``torchrun`` workers) do not
  outlive it holding GPUs.
* **Kubernetes** (``kubernetes=True``): build a ``KubernetesPodOperator`` whose container asks for
  ``nvidia.com/gpu`` (requests = limits, as extended resources require), tolerates the usual GPU
  node taint and lands on GPU nodes through a node selector; the device plugin then pins the GPUs.

No GPU (no driver, CPU-only worker): ``no_gpu_policy`` decides: ``cpu`` (default) runs the job with
``CUDA_VISIBLE_DEVICES=""`` so frameworks fall back to CPU and says so in the log and the result;
``fail`` fails without retrying; ``skip`` skips. GPUs present but all busy: the task fails with a
retryable error (retries and ``retry_delay`` wait for a free device); put GPU tasks in the ``gpu``
pool to queue them before they start instead.

The process-group handling and the pod's arguments are plain Python in ``include/gpu/jobs.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from genai_airflow.gpu.links import GPUDashboardLink, GPUPoolLink
from include.gpu import nvml
from include.gpu.jobs import (
    DEFAULT_COMMAND_TIMEOUT_S,
    DEFAULT_KILL_GRACE_S,
    NO_GPU_POLICIES,
    drain,
    gpu_pod_kwargs,
    kill_process_group,
)


class GPUJobOperator(BaseOperator):
    """Run ``python_callable`` or ``command`` on ``gpu_count`` free GPUs (see the module docstring).

    :param gpu_count: GPUs the job needs (0 = CPU job that still goes through the same code path).
    :param python_callable: called with ``*op_args, **op_kwargs`` (local mode only); its return value
        (JSON-serialisable) is in the result under ``result``.
    :param command: an argv list (``["python", "job.py", "{{ params.x }}"]``), each element templated
        and passed as one argument; no shell. Required in Kubernetes mode.
    :param command_timeout: seconds (or a timedelta) a local command may run before its process
        group is killed; templated. Default: ``execution_timeout``, else one hour.
    :param kill_grace_s: seconds between SIGTERM and SIGKILL for the process group.
    :param env: extra environment variables for the job.
    :param max_utilization_percent: a device busier than this is not "free".
    :param min_free_memory_mib: a device with less free memory is not "free" (the job's footprint).
    :param no_gpu_policy: ``cpu`` | ``fail`` | ``skip`` when the worker has no GPU at all.
    :param kubernetes: build and run a GPU pod instead of running locally.
    :param image / namespace / kubernetes_conn_id / node_selector / tolerations / cpu / memory /
        gpu_resource: the pod's settings (see ``include.gpu.jobs.gpu_pod_kwargs``).
    """

    template_fields = ("command", "op_args", "op_kwargs", "env", "no_gpu_policy", "image", "command_timeout")
    operator_extra_links = (GPUPoolLink(), GPUDashboardLink())
    ui_color = "#76b900"

    def __init__(
        self,
        *,
        gpu_count: int = 1,
        python_callable: Callable[..., Any] | None = None,
        op_args: Sequence[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        command: Sequence[str] | None = None,
        command_timeout: float | str | timedelta | None = None,
        kill_grace_s: float = DEFAULT_KILL_GRACE_S,
        env: dict[str, str] | None = None,
        max_utilization_percent: float = 10.0,
        min_free_memory_mib: float = 0.0,
        no_gpu_policy: str = "cpu",
        kubernetes: bool = False,
        image: str | None = None,
        namespace: str = "default",
        kubernetes_conn_id: str = "kubernetes_default",
        node_selector: dict[str, str] | None = None,
        tolerations: list[dict[str, Any]] | None = None,
        cpu: str | None = "4",
        memory: str | None = "16Gi",
        gpu_resource: str = "nvidia.com/gpu",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (python_callable is None) == (command is None):
            raise ValueError(f"{self.task_id}: give exactly one of python_callable or command")
        if kubernetes and (python_callable is not None or not image):
            raise ValueError(f"{self.task_id}: Kubernetes mode runs a container: set image= and command=")
        if gpu_count < 0:
            raise ValueError(f"{self.task_id}: gpu_count must be >= 0")
        if isinstance(command, (str, bytes)):
            raise ValueError(f"{self.task_id}: command must be an argv list such as ['python', 'job.py', '--n', "
                             "'3'], not a string: no shell runs it, so nothing in it can be interpreted")
        self.gpu_count = gpu_count
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.command = list(command) if command is not None else None
        self.command_timeout = command_timeout
        self.kill_grace_s = kill_grace_s
        self.env = dict(env or {})
        self.max_utilization_percent = max_utilization_percent
        self.min_free_memory_mib = min_free_memory_mib
        self.no_gpu_policy = no_gpu_policy
        self.kubernetes = kubernetes
        self.image = image
        self.namespace = namespace
        self.kubernetes_conn_id = kubernetes_conn_id
        self.node_selector = node_selector
        self.tolerations = tolerations
        self.cpu = cpu
        self.memory = memory
        self.gpu_resource = gpu_resource

    # ----------------------------------------------------------------------------- Kubernetes
    def _argv(self) -> list[str]:
        if isinstance(self.command, str):  # a template that rendered the whole list into one string
            raise AirflowFailException(f"{self.task_id}: command rendered to a string; give an argv list")
        return [str(c) for c in (self.command or [])]

    def timeout_seconds(self) -> float:
        """``command_timeout`` (rendered), else ``execution_timeout``, else one hour; must be > 0."""
        value: Any = self.command_timeout
        if value is None or value == "":
            value = self.execution_timeout or DEFAULT_COMMAND_TIMEOUT_S
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        if seconds <= 0:
            raise AirflowFailException(f"{self.task_id}: command_timeout must be > 0 seconds, got {value!r}")
        return seconds

    def build_pod_operator(self) -> Any:
        """The KubernetesPodOperator this task runs in Kubernetes mode (exposed for tests/inspection)."""
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        return KubernetesPodOperator(**gpu_pod_kwargs(
            task_id=f"{self.task_id}_pod",
            image=str(self.image),
            command=self._argv(),
            gpu_count=max(self.gpu_count, 1),
            gpu_resource=self.gpu_resource,
            cpu=self.cpu,
            memory=self.memory,
            namespace=self.namespace,
            kubernetes_conn_id=self.kubernetes_conn_id,
            node_selector=self.node_selector,
            tolerations=self.tolerations,
            env=self.env,
        ))

    # ----------------------------------------------------------------------------- local
    def place(self, snapshot: nvml.GPUSnapshot) -> dict[str, Any]:
        """Decide where the job runs: ``{"mode": "gpu"|"cpu", "cuda_visible_devices": ..., "gpus": [...]}``.

        Raises for the no-GPU policies ``fail``/``skip`` and when GPUs exist but too few are free.
        """
        if self.no_gpu_policy not in NO_GPU_POLICIES:
            raise AirflowFailException(f"no_gpu_policy={self.no_gpu_policy!r}: use one of {NO_GPU_POLICIES}")
        if self.gpu_count == 0:
            return {"mode": "cpu", "cuda_visible_devices": "", "gpus": [], "reason": "gpu_count=0"}
        if not snapshot.available:
            if self.no_gpu_policy == "skip":
                raise AirflowSkipException(f"no GPU on this worker ({snapshot.reason}); no_gpu_policy=skip")
            if self.no_gpu_policy == "fail":
                raise AirflowFailException(
                    f"no GPU on this worker ({snapshot.reason}): run on a GPU queue, set kubernetes=True, "
                    "or no_gpu_policy='cpu' to accept a CPU run"
                )
            self.log.warning("No GPU on this worker (%s); no_gpu_policy=cpu: running on CPU", snapshot.reason)
            return {"mode": "cpu", "cuda_visible_devices": "", "gpus": [], "reason": snapshot.reason}
        chosen = nvml.select_free_gpus(snapshot, self.gpu_count, self.max_utilization_percent,
                                       self.min_free_memory_mib)
        if not chosen:
            busy = ", ".join(f"#{g.index} {g.utilization_percent:.0f}% {g.memory_free_mib:.0f} MiB free"
                             for g in snapshot.gpus)
            raise AirflowException(
                f"need {self.gpu_count} free GPU(s) (<= {self.max_utilization_percent}% busy, >= "
                f"{self.min_free_memory_mib} MiB free) but have: {busy}; retrying later"
            )
        return {
            "mode": "gpu",
            "cuda_visible_devices": ",".join(g.uuid for g in chosen),
            "gpus": [{"index": g.index, "uuid": g.uuid, "name": g.name,
                      "memory_free_mib": g.memory_free_mib} for g in chosen],
            "reason": "",
        }

    def _run_local(self, placement: dict[str, Any]) -> Any:
        job_env = {**self.env, "CUDA_VISIBLE_DEVICES": placement["cuda_visible_devices"],
                   "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
        if self.command is not None:
            return self._run_command(self._argv(), job_env)
        saved = {k: os.environ.get(k) for k in job_env}
        os.environ.update(job_env)
        try:
            return self.python_callable(*self.op_args, **self.op_kwargs)  # type: ignore[misc]
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _run_command(self, argv: list[str], job_env: dict[str, str]) -> dict[str, Any]:
        """Run ``argv`` (no shell) in a new session; kill its process group at the timeout or on any error."""
        if not argv:
            raise AirflowFailException(f"{self.task_id}: command is empty")
        timeout = self.timeout_seconds()
        self.log.info("Running %s (timeout %.0f s) with CUDA_VISIBLE_DEVICES=%r", argv, timeout,
                      job_env["CUDA_VISIBLE_DEVICES"])
        proc = subprocess.Popen(argv, env={**os.environ, **job_env}, stdout=subprocess.PIPE,  # noqa: S603
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_process_group(proc.pid, self.kill_grace_s, reap=proc.poll)
            stdout, stderr = drain(proc)
            self._log_output(stdout, stderr)
            raise AirflowException(f"command {argv[0]!r} still running after {timeout:.0f} s: its process group "
                                   f"{proc.pid} was killed (raise command_timeout if the job needs longer)") from None
        except BaseException:  # task killed (execution_timeout, SIGTERM): take the job's processes with it
            kill_process_group(proc.pid, self.kill_grace_s, reap=proc.poll)
            raise
        finally:
            kill_process_group(proc.pid, 0.0)  # whatever it left running in the background
        self._log_output(stdout, stderr)
        if proc.returncode != 0:
            raise AirflowException(f"command exited with {proc.returncode}: {(stderr or '')[-500:]}")
        return {"returncode": proc.returncode, "stdout_tail": (stdout or "")[-2000:]}

    def _log_output(self, stdout: str | None, stderr: str | None) -> None:
        for line in (stdout or "").splitlines():
            self.log.info("%s", line)
        for line in (stderr or "").splitlines():
            self.log.warning("%s", line)

    @staticmethod
    def _record_placement(context: Any, value: dict[str, Any]) -> None:
        """Where the job ran, for the GPU dashboard link (skipped when called outside a task run)."""
        ti = context.get("ti") if hasattr(context, "get") else None
        if ti is not None:
            ti.xcom_push(key=GPUDashboardLink.placement_key, value=value)

    def execute(self, context: Any) -> Any:
        if self.kubernetes:
            pod_op = self.build_pod_operator()
            self.log.info("Running %s in a Kubernetes pod with %d x %s", self._argv(), self.gpu_count,
                          self.gpu_resource)
            self._record_placement(context, {"mode": "kubernetes", "hostname": "", "gpus": ""})
            return pod_op.execute(context)
        placement = self.place(nvml.probe())
        self.log.info("Placement: %s", placement)
        self._record_placement(context, {
            "mode": placement["mode"], "hostname": socket.gethostname(),
            "gpus": ",".join(str(g["index"]) for g in placement["gpus"]),
        })
        result = self._run_local(placement)
        return {"mode": placement["mode"], "cuda_visible_devices": placement["cuda_visible_devices"],
                "gpus": placement["gpus"], "fallback_reason": placement["reason"], "result": result}
