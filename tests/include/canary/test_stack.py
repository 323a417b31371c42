"""The embedded stack for real: model servers, router weights, fault injection, clean stop.

Each test starts real processes on free loopback ports and asserts that none survives.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from include.canary import model
from include.canary import stack as local_stack
from include.canary.backends.local import LocalRouterBackend
from include.demo.feedback import labeled_examples


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("canary-models")
    model.train(labeled_examples(200, seed=1), epochs=20).save(root / "champion")
    model.train(labeled_examples(300, seed=2), epochs=20).save(root / "challenger")
    (root / "requests.jsonl").write_text(
        "\n".join(json.dumps({"text": t}) for t, _ in labeled_examples(40, seed=3)) + "\n")
    return root


def _start(root, run_dir, **kwargs):
    defaults = {"rate": 150.0, "concurrency": 3, "ttl": 120.0}
    return local_stack.start_stack(run_dir, champion_dir=str(root / "champion"), challenger_dir=str(root / "challenger"),
                             champion_ref="m/1", challenger_ref="m/2", requests_file=str(root / "requests.jsonl"),
                             **(defaults | kwargs))


def _wait_counts(backend, since, model_name, n, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = backend.counts(since)
        if counts[model_name]["n"] >= n:
            return counts
        time.sleep(0.2)
    raise AssertionError(f"{model_name} did not reach {n} requests: {counts}")


def _assert_stopped(stopped):
    assert {s["name"] for s in stopped} == {"champion", "challenger", "router", "loadgen"}
    for s in stopped:
        assert not s["alive"] and not s["port_in_use"], s
        assert not local_stack.process_alive(s["pid"], None)


def test_router_shifts_weights_and_faults_reach_only_the_challenger(model_dirs, tmp_path):
    stack = _start(model_dirs, tmp_path / "run", challenger_error_rate=0.5)
    try:
        health = json.loads(urllib.request.urlopen(f"{stack['challenger_url']}/health", timeout=5).read())
        assert health == {"status": "ok", "role": "challenger", "model": "m/2", "kind": "hashed_logreg"}
        req = urllib.request.Request(f"{stack['champion_url']}/predict", method="POST",
                                     data=json.dumps({"texts": ["Great support, thank you so much."]}).encode())
        assert json.loads(urllib.request.urlopen(req, timeout=5).read())["predictions"][0]["label"] == "positive"

        backend = LocalRouterBackend(stack["router_url"])
        assert backend.current_weights() == {"champion": 100, "challenger": 0}
        at_zero = _wait_counts(backend, 0, "champion", 30)
        assert at_zero["challenger"]["n"] == 0  # weight 0: the challenger gets nothing

        mark = backend.set_challenger_weight(100)
        counts = _wait_counts(backend, mark, "challenger", 40)
        assert counts["champion"]["n"] == 0
        assert 0.25 < counts["challenger"]["errors"] / counts["challenger"]["n"] < 0.75

        champion, challenger, end = backend.window(mark)
        assert challenger.n >= 40 and champion.n == 0 and end > mark
        assert all(latency > 0 for latency in challenger.latencies_ms)
    finally:
        stopped = local_stack.stop_stack(tmp_path / "run")
    _assert_stopped(stopped)
    assert json.loads((tmp_path / "run" / "loadgen-stats.json").read_text())["sent"] > 70


def test_stop_is_idempotent_and_ports_are_free(model_dirs, tmp_path):
    stack = _start(model_dirs, tmp_path / "run", rate=20.0)
    ports = [p["port"] for p in stack["processes"].values() if p["port"]]
    assert all(local_stack.port_in_use(p) for p in ports)
    _assert_stopped(local_stack.stop_stack(tmp_path / "run"))
    again = local_stack.stop_stack(tmp_path / "run")
    assert {s["stopped_by"] for s in again} == {"already_gone"}
    assert not any(local_stack.port_in_use(p) for p in ports)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(stack["router_url"] + "/health", timeout=2)


def test_failed_start_cleans_up_what_it_started(model_dirs, tmp_path):
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    with pytest.raises(local_stack.StackError, match="challenger exited"):
        local_stack.start_stack(tmp_path / "run", champion_dir=str(model_dirs / "champion"), challenger_dir=str(bad),
                          champion_ref="m/1", challenger_ref="m/2",
                          requests_file=str(model_dirs / "requests.jsonl"), rate=10, concurrency=1, ttl=60)
    state = json.loads((tmp_path / "run" / "stack.json").read_text())
    for info in state["processes"].values():
        assert not local_stack.process_alive(info["pid"], info["create_time"])
        assert not local_stack.port_in_use(info["port"])


def test_ttl_stops_a_stack_nobody_tore_down(model_dirs, tmp_path):
    stack = _start(model_dirs, tmp_path / "run", rate=10.0, ttl=2.0)
    pids = [(p["pid"]) for p in stack["processes"].values()]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(local_stack.process_alive(pid, None) for pid in pids):
        time.sleep(0.2)
    assert not any(local_stack.process_alive(pid, None) for pid in pids)
    local_stack.stop_stack(tmp_path / "run")


def test_pid_reuse_is_never_signalled():
    import os

    assert local_stack.process_alive(os.getpid(), None)
    assert not local_stack.process_alive(os.getpid(), create_time=1.0)  # same pid, another start time
