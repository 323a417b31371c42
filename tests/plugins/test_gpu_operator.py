"""GPUJobOperator: placement on recorded readings, the no-GPU fallbacks for real, and the GPU pod spec."""

from __future__ import annotations

import json
import os
import sys
import time

import airflow  # noqa: F401 - puts the plugins folder on sys.path, as in every Airflow process
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from genai_airflow.gpu.operators import GPUJobOperator
from include.gpu import nvml
from include.gpu.jobs import DEFAULT_COMMAND_TIMEOUT_S, DEFAULT_GPU_TOLERATION, group_members

NO_GPU = nvml.GPUSnapshot(available=False, reason="NVML unavailable: NVMLError_LibraryNotFound")


def _reading(index: int, util: float, free_mib: float) -> nvml.GPUReading:
    return nvml.GPUReading(index=index, uuid=f"GPU-aaaa-{index}", name="NVIDIA L4", utilization_percent=util,
                           memory_utilization_percent=0.0, memory_total_mib=23034.0,
                           memory_used_mib=23034.0 - free_mib, memory_free_mib=free_mib)


FOUR = nvml.GPUSnapshot(available=True, gpus=(
    _reading(0, 97, 1000), _reading(1, 3, 20000), _reading(2, 0, 22000), _reading(3, 5, 9000)))


def _cuda_env() -> dict:
    return {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "CUDA_DEVICE_ORDER": os.environ.get("CUDA_DEVICE_ORDER")}


def test_placement_picks_idle_devices_with_room_by_uuid():
    op = GPUJobOperator(task_id="job", gpu_count=2, python_callable=_cuda_env, min_free_memory_mib=8000)
    placement = op.place(FOUR)
    assert placement["mode"] == "gpu"
    assert placement["cuda_visible_devices"] == "GPU-aaaa-2,GPU-aaaa-1"  # most free memory first
    assert [g["index"] for g in placement["gpus"]] == [2, 1]
    too_many = GPUJobOperator(task_id="job3", gpu_count=4, python_callable=_cuda_env, min_free_memory_mib=8000)
    with pytest.raises(AirflowException, match="need 4 free GPU"):
        too_many.place(FOUR)


@pytest.mark.parametrize("policy,error", [("fail", AirflowFailException), ("skip", AirflowSkipException)])
def test_no_gpu_fail_and_skip_policies(policy, error):
    with pytest.raises(error):
        GPUJobOperator(task_id="j", python_callable=_cuda_env, no_gpu_policy=policy).place(NO_GPU)


def test_no_gpu_cpu_fallback_runs_the_callable_with_no_visible_device(monkeypatch):
    if nvml.probe().available:  # pragma: no cover
        pytest.skip("GPU present: the fallback is for CPU-only workers")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")
    op = GPUJobOperator(task_id="cpu_fallback", python_callable=_cuda_env, no_gpu_policy="cpu")
    out = op.execute({})
    assert out["mode"] == "cpu" and "NVML" in out["fallback_reason"]
    assert out["result"] == {"CUDA_VISIBLE_DEVICES": "", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "7"  # restored after the job


def test_command_runs_with_pinned_environment():
    if nvml.probe().available:  # pragma: no cover
        pytest.skip("GPU present")
    op = GPUJobOperator(task_id="cmd", gpu_count=1, env={"JOB": "embed"},
                        command=[sys.executable, "-c",
                                 "import os; print('cvd=[%s] job=%s' % (os.environ['CUDA_VISIBLE_DEVICES'], "
                                 "os.environ['JOB']))"])
    out = op.execute({})
    assert out["result"]["returncode"] == 0 and "cvd=[] job=embed" in out["result"]["stdout_tail"]
    failing = GPUJobOperator(task_id="bad", command=[sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(AirflowException, match="exited with 3"):
        failing.execute({})


def test_constructor_rejects_ambiguous_jobs():
    with pytest.raises(ValueError, match="exactly one"):
        GPUJobOperator(task_id="x")
    with pytest.raises(ValueError, match="image"):
        GPUJobOperator(task_id="y", kubernetes=True, command=["python", "x.py"])
    with pytest.raises(ValueError, match="argv list"):  # no shell strings
        GPUJobOperator(task_id="z", command="python job.py; rm -rf ~")


def test_kubernetes_pod_spec_for_a_gpu_job():
    from kubernetes.client import ApiClient

    op = GPUJobOperator(
        task_id="fine_tune", kubernetes=True, image="ghcr.io/acme/llm-train:1.4", gpu_count=2,
        command=["python", "train.py", "--epochs", "3"], env={"HF_HUB_OFFLINE": "1"},
        node_selector={"cloud.google.com/gke-accelerator": "nvidia-l4"}, namespace="ml", cpu="8", memory="32Gi",
    )
    pod_op = op.build_pod_operator()
    pod = pod_op.build_pod_request_obj(dry_run=True)  # dry_run: no kube client (no cluster here)
    body = ApiClient().sanitize_for_serialization(pod)  # what POST /api/v1/namespaces/ml/pods would carry
    container = body["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/llm-train:1.4"
    assert container["command"] == ["python"] and container["args"] == ["train.py", "--epochs", "3"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "2", "cpu": "8", "memory": "32Gi"}
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert {"name": "HF_HUB_OFFLINE", "value": "1"} in container["env"]
    assert body["spec"]["tolerations"] == [DEFAULT_GPU_TOLERATION]
    assert body["spec"]["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert body["metadata"]["namespace"] == "ml"
    assert body["metadata"]["labels"]["gpu-job"] == "true"
    assert pod_op.on_finish_action.value == "delete_pod"


def test_kubernetes_pod_defaults_and_custom_tolerations():
    from kubernetes.client import ApiClient

    op = GPUJobOperator(task_id="infer", kubernetes=True, image="img:1", command=["python", "serve.py", "--batch", "16"],
                        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoExecute"}],
                        gpu_resource="amd.com/gpu", cpu=None, memory=None)
    body = ApiClient().sanitize_for_serialization(op.build_pod_operator().build_pod_request_obj(dry_run=True))
    assert body["spec"]["containers"][0]["resources"]["limits"] == {"amd.com/gpu": "1"}
    assert body["spec"]["containers"][0]["args"] == ["serve.py", "--batch", "16"]
    assert body["spec"]["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                            "effect": "NoExecute"}]
    assert body["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


# ----------------------------------------------------------------------------- argv, timeout, process group
_ECHO_ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"


def test_command_runs_without_a_shell_so_injection_stays_a_literal_argument(tmp_path):
    sentinel = tmp_path / "pwned"
    payload = f"x; touch {sentinel} && echo $HOME `id`"
    out = GPUJobOperator(task_id="argv", command=[sys.executable, "-c", _ECHO_ARGV, payload, "two words"]).execute({})
    assert out["result"]["stdout_tail"].strip() == json.dumps([payload, "two words"])
    assert not sentinel.exists()


def _alive(pid: int) -> bool:
    """Running and not a zombie (an orphan may stay a zombie where PID 1 does not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


_SPAWN_AND_SLEEP = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(f"{child.pid}")
time.sleep(120)
"""


def test_sleeping_command_is_killed_at_the_timeout_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    op = GPUJobOperator(task_id="sleepy", command=[sys.executable, "-c", _SPAWN_AND_SLEEP, str(pids)],
                        command_timeout=2, kill_grace_s=2)
    started = time.monotonic()
    with pytest.raises(AirflowException, match="still running after 2 s: its process group .* was killed"):
        op.execute({})
    assert time.monotonic() - started < 10
    child = int(pids.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the job's child outlived the timeout"
    assert group_members(child) == []


def test_sigterm_ignoring_job_is_sigkilled_after_the_grace(tmp_path):
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    op = GPUJobOperator(task_id="stubborn", command=[sys.executable, "-c", code], command_timeout=1.5,
                        kill_grace_s=1)
    started = time.monotonic()
    with pytest.raises(AirflowException, match="still running"):
        op.execute({})
    assert 2.4 < time.monotonic() - started < 8  # timeout + grace, then SIGKILL


def test_timeout_defaults_to_execution_timeout_and_is_templated():
    from datetime import timedelta

    assert GPUJobOperator(task_id="a", command=["true"]).timeout_seconds() == DEFAULT_COMMAND_TIMEOUT_S
    op = GPUJobOperator(task_id="b", command=["true"], execution_timeout=timedelta(minutes=5))
    assert op.timeout_seconds() == 300
    assert "command_timeout" in GPUJobOperator.template_fields
    with pytest.raises(AirflowFailException, match="> 0"):
        GPUJobOperator(task_id="c", command=["true"], command_timeout="0").timeout_seconds()


def test_templated_argv_elements_stay_single_arguments(tmp_path):
    """A Param rendered (by Airflow's templater) into one argv element is one argument, whatever it holds."""
    sentinel = tmp_path / "pwned"
    op = GPUJobOperator(task_id="job", gpu_count=0,
                        command=[sys.executable, "-c", _ECHO_ARGV, "{{ params.payload }}", "--flag"],
                        command_timeout="{{ params.timeout }}")
    payload = f"a b; touch {sentinel}; $(id)"
    op.render_template_fields({"params": {"payload": payload, "timeout": 20}})
    assert op.command[-2:] == [payload, "--flag"] and op.timeout_seconds() == 20
    out = op.execute({})
    assert json.loads(out["result"]["stdout_tail"]) == [payload, "--flag"]
    assert not sentinel.exists()
