"""How a GPU job runs outside Airflow's own process: pinned, time-boxed, in its own process group, or as a pod.

``GPUJobOperator`` (plugins/genai_airflow/gpu/operators.py) is the Airflow face of this module:

* a local command runs as its own session leader, so it and every child it forks (data loaders,
  ``torchrun`` workers) form one process group; :func:`kill_process_group` ends the whole group
  (SIGTERM, SIGKILL after a grace) so nothing outlives the task holding GPUs;
* a Kubernetes job is a pod whose container asks for whole GPUs (extended resources need
  requests == limits), tolerates the usual GPU node taint and lands on GPU nodes:
  :func:`gpu_pod_kwargs` gives ``KubernetesPodOperator`` exactly those arguments.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

#: What a GPU job does on a worker without a GPU: run on CPU, fail, or skip.
NO_GPU_POLICIES = ("cpu", "fail", "skip")

#: Command timeout when neither ``command_timeout`` nor ``execution_timeout`` is set.
DEFAULT_COMMAND_TIMEOUT_S = 3600.0
#: Seconds between SIGTERM and SIGKILL when a command's process group is stopped.
DEFAULT_KILL_GRACE_S = 10.0

#: The taint GPU node pools carry on GKE/EKS/AKS and with the NVIDIA GPU operator.
DEFAULT_GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def gpu_pod_kwargs(
    *,
    task_id: str,
    image: str,
    command: Sequence[str],
    gpu_count: int = 1,
    gpu_resource: str = "nvidia.com/gpu",
    cpu: str | None = "4",
    memory: str | None = "16Gi",
    namespace: str = "default",
    kubernetes_conn_id: str = "kubernetes_default",
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    env: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Arguments of a ``KubernetesPodOperator`` running ``command`` in ``image`` on ``gpu_count`` GPUs.

    Use in a DAG as ``KubernetesPodOperator(**gpu_pod_kwargs(task_id=..., image=..., command=[...]))``.
    GPU counts are extended resources: Kubernetes requires requests == limits and whole numbers, so
    both are set. CPU/memory get requests = limits too (Guaranteed QoS: a GPU job evicted halfway
    wastes the most expensive resource).
    """
    from kubernetes.client import models as k8s

    if gpu_count < 1:
        raise ValueError("gpu_count must be >= 1 for a GPU pod")
    resources: dict[str, str] = {gpu_resource: str(int(gpu_count))}
    if cpu:
        resources["cpu"] = str(cpu)
    if memory:
        resources["memory"] = str(memory)
    tolerations = tolerations if tolerations is not None else [DEFAULT_GPU_TOLERATION]
    return {
        "task_id": task_id,
        "name": task_id.replace("_", "-").lower(),
        "namespace": namespace,
        "kubernetes_conn_id": kubernetes_conn_id,
        "image": image,
        "cmds": list(command[:1]),
        "arguments": list(command[1:]),
        "env_vars": dict(env or {}),
        "labels": {"app.kubernetes.io/part-of": "genai-airflow-pipelines", "gpu-job": "true", **(labels or {})},
        "container_resources": k8s.V1ResourceRequirements(requests=dict(resources), limits=dict(resources)),
        "tolerations": [k8s.V1Toleration(**t) for t in tolerations],
        "node_selector": dict(node_selector) if node_selector is not None else {"nvidia.com/gpu.present": "true"},
        "get_logs": True,
        "on_finish_action": "delete_pod",
    }


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of group ``pgid``, from ``/proc``; ``[pgid]``-or-empty where there is none.

    ``killpg(pgid, 0)`` also succeeds for zombies, and an orphan whose container has no reaping
    init stays a zombie for good, so a signal probe alone would wait out every grace period.
    """
    proc_root = "/proc"
    if not os.path.isdir(proc_root):  # pragma: no cover - not Linux
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc_root}/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def kill_process_group(pgid: int, grace_s: float = DEFAULT_KILL_GRACE_S,
                       reap: Callable[[], Any] | None = None) -> bool:
    """SIGTERM every process of group ``pgid``, SIGKILL what is left after ``grace_s``; True if any was signalled.

    The command runs as its own session leader, so its pid is the group id and every child it
    forks (unless it starts a session of its own) is in the group, even after the leader exits.
    ``grace_s=0`` sends SIGKILL at once. ``reap`` (``proc.poll``) collects the leader once it exits.
    """
    if not group_members(pgid):
        return False
    if grace_s > 0:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if reap is not None:
                reap()
            if not group_members(pgid):
                return True
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return True


def drain(proc: subprocess.Popen) -> tuple[str, str]:
    """Collect what a killed command wrote; a grandchild that escaped the group may hold the pipes open."""
    try:
        return proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "", "(output not collected: a process outside the group kept the pipes open)"
