"""Canary setup/teardown under failures: a killed setup retried, a teardown on the wrong host, a cloud
endpoint left split. Real processes on loopback, a real moto SageMaker endpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import boto3
import psutil
import pytest

from include.canary import lifecycle, model
from include.canary import stack as local_stack
from include.canary.config import CanaryConfig
from include.demo.feedback import labeled_examples
from include.platform.errors import PermanentError
from include.platform.settings import PROJECT_DIR


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("canary-lifecycle")
    model.train(labeled_examples(120, seed=1), epochs=10).save(root / "champion")
    model.train(labeled_examples(150, seed=2), epochs=10).save(root / "challenger")
    (root / "requests.jsonl").write_text(
        "\n".join(json.dumps({"text": t}) for t, _ in labeled_examples(20, seed=3)) + "\n")
    return root


def _kwargs(root) -> dict:
    return {"champion_dir": str(root / "champion"), "challenger_dir": str(root / "challenger"),
            "champion_ref": "m/1", "challenger_ref": "m/2", "requests_file": str(root / "requests.jsonl"),
            "rate": 20.0, "concurrency": 1, "ttl": 120.0}


def _processes_of(run_dir) -> set[int]:
    """Every live process on this machine started for ``run_dir`` (its ready file is on the command line)."""
    found = set()
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(run_dir) in cmdline and "include.canary." in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.add(proc.info["pid"])
    return found


def test_setup_retried_after_a_worker_kill_leaves_exactly_one_stack(model_dirs, tmp_path):
    run_dir = tmp_path / "run"
    # Attempt 1 runs in its own "worker" process, which is SIGKILLed once the stack is up: no cleanup
    # code runs, and the stack (own sessions) keeps running — what a killed Celery worker leaves.
    worker = subprocess.Popen(  # noqa: S603 - our interpreter and our code
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from include.canary import stack as local_stack
            local_stack.start_stack({str(run_dir)!r}, **{_kwargs(model_dirs)!r})
            print("READY", flush=True)
            time.sleep(600)
        """)], cwd=PROJECT_DIR, env=os.environ | {"PYTHONPATH": str(PROJECT_DIR)}, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while (line := worker.stdout.readline()) and line.strip() != "READY":  # its log lines come first
            lines.append(line)
        assert line.strip() == "READY", "".join(lines)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    orphans = {p["pid"] for p in json.loads((run_dir / "stack.json").read_text())["processes"].values()}
    assert len(orphans) == 4 and _processes_of(run_dir) == orphans

    stack = local_stack.start_stack(run_dir, **_kwargs(model_dirs))  # attempt 2, same run folder
    try:
        current = {p["pid"] for p in stack["processes"].values()}
        assert _processes_of(run_dir) == current and not current & orphans  # one stack: the new one
        assert {s["name"] for s in stack["previous_attempt"]} == {"champion", "challenger", "router", "loadgen"}
        assert all(s["stopped_by"] in ("shutdown", "sigterm", "sigkill") and not s["alive"]
                   for s in stack["previous_attempt"])
        assert stack["host"] == local_stack.this_host()
        assert all(p["pgid"] == p["pid"] and p["create_time"] for p in stack["processes"].values())
    finally:
        local_stack.stop_stack(run_dir)
    assert _processes_of(run_dir) == set()


def test_teardown_stops_the_pids_recorded_in_xcom_even_without_the_state_file(model_dirs, tmp_path, lake):
    stack = local_stack.start_stack(tmp_path / "run", **_kwargs(model_dirs)) | {"mode": "local"}
    (tmp_path / "run" / "stack.json").unlink()  # only the XCom record is left
    report_uri = f"file://{lake}/lake/reports/canary/t"
    summary = lifecycle.stop(json.loads(json.dumps(stack)), report_uri, None)
    assert {s["name"] for s in summary["stopped"]} == {"champion", "challenger", "router", "loadgen"}
    assert all(not s["alive"] and not s["port_in_use"] for s in summary["stopped"])
    assert _processes_of(tmp_path / "run") == set()
    assert json.loads((lake / "lake" / "reports" / "canary" / "t" / "teardown.json").read_text())["mode"] == "local"


def test_teardown_of_a_stack_recorded_on_another_host_fails_loudly_and_signals_nothing(model_dirs, tmp_path, lake):
    stack = local_stack.start_stack(tmp_path / "run", **_kwargs(model_dirs)) | {"mode": "local"}
    try:
        elsewhere = stack | {"host": "gpu-worker-7"}
        with pytest.raises(PermanentError, match="one-host rule") as failed:
            lifecycle.stop(elsewhere, f"file://{lake}/lake/reports/canary/t", None)
        message = str(failed.value)
        assert "'gpu-worker-7'" in message and f"pid {stack['processes']['router']['pid']}" in message
        assert "fix:" in message and "TTL" in message
        # Nothing was signalled: pids on "another host" are not ours.
        assert _processes_of(tmp_path / "run") == {p["pid"] for p in stack["processes"].values()}
        written = json.loads((lake / "lake" / "reports" / "canary" / "t" / "teardown.json").read_text())
        assert "one-host rule" in written["error"]
    finally:
        local_stack.stop_stack(tmp_path / "run")


# -- cloud: traffic back to the champion --------------------------------------------------------
@pytest.fixture
def sagemaker_target(aws_conn, moto_server):
    sm = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=moto_server,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    name = f"teardown-{datetime.now(UTC).strftime('%H%M%S%f')}"
    for variant in ("blue", "green"):
        sm.create_model(ModelName=f"{name}-{variant}", ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
                        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:latest"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": v, "ModelName": f"{name}-{v}", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": w} for v, w in (("blue", 1.0), ("green", 0.0))])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return {"endpoint_name": name, "champion_variant": "blue", "challenger_variant": "green"}


@pytest.mark.parametrize("outcome", [None, {"decision": "rollback"}], ids=["rollout-died", "rolled-back"])
def test_cloud_teardown_sends_all_traffic_back_to_the_champion(aws_conn, sagemaker_target, lake, outcome):
    from include.canary.backends import backend_for

    cfg = CanaryConfig(backend_conn_id=aws_conn, target=sagemaker_target)  # the genai_canary_* wiring
    stack = lifecycle.start({}, cfg, "manual__x")
    assert stack["mode"] == "sagemaker" and stack["weights_before"] == {"champion": 100, "challenger": 0}
    backend_for(aws_conn, sagemaker_target).set_challenger_weight(25)  # the rollout's worker died here

    summary = lifecycle.stop(stack, f"file://{lake}/lake/reports/canary/t", outcome)
    assert summary["weights_after"] == {"champion": 100, "challenger": 0}
    assert backend_for(aws_conn, sagemaker_target).current_weights() == {"champion": 100, "challenger": 0}
    assert summary["action"].startswith("reset: 100% to the champion")


def test_cloud_teardown_keeps_a_promoted_challenger(aws_conn, sagemaker_target, lake):
    from include.canary.backends import backend_for

    stack = lifecycle.start({}, CanaryConfig(backend_conn_id=aws_conn, target=sagemaker_target), "manual__y")
    backend_for(aws_conn, sagemaker_target).set_challenger_weight(100)
    summary = lifecycle.stop(stack, f"file://{lake}/lake/reports/canary/t", {"decision": "promote"})
    assert summary["weights_after"] == {"champion": 0, "challenger": 100} and summary["action"].startswith("kept")
