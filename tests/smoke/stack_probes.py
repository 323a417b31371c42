"""What the stack-security smoke tests observe on a running stack: its listening sockets and a task's environment."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil

from tests.fixtures.local_stack import LocalStack

PROBE_DAG = "stack_env_probe"
_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
#: The project's dags/ (Airflow's default bundle) plus the probe DAG's folder, as a user's .env would add a bundle.
PROBE_ENV = {
    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([
        {"name": "dags-folder", "classpath": _LOCAL_BUNDLE, "kwargs": {}},
        {"name": "security-probe", "classpath": _LOCAL_BUNDLE,
         "kwargs": {"path": str(Path(__file__).parent / "probe_dags")}},
    ]),
}
LOOPBACK = {"127.0.0.1", "::1"}


def listeners(pgid: int) -> set[tuple[str, str, int]]:
    """(process, address, port) of every listening TCP socket (psutil reads /proc/net/tcp{,6}) that a
    process of the stack's process group holds."""
    found = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if os.getpgid(proc.pid) != pgid:
                continue
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((" ".join(proc.info["cmdline"] or [])[:60], conn.laddr.ip, conn.laddr.port))
        except (psutil.Error, ProcessLookupError):
            continue
    return found


def run_probe(stack: LocalStack, out: Path, timeout: float = 300) -> tuple[dict, set[tuple[str, str, int]]]:
    """Run the probe DAG through the scheduler; returns its report and the listeners seen while it ran
    (sampled every half second, so the task's supervisor and task process are included)."""
    run_id = stack.trigger(PROBE_DAG, {"out": str(out)})
    seen: set[tuple[str, str, int]] = set()
    deadline = time.monotonic() + timeout
    while (state := stack.run_state(PROBE_DAG, run_id)) not in ("success", "failed"):
        assert time.monotonic() < deadline, f"{PROBE_DAG} still {state} after {timeout}s"
        seen |= listeners(stack.pgid)
        time.sleep(0.5)
    seen |= listeners(stack.pgid)
    assert state == "success", stack.task_instances(PROBE_DAG, run_id)
    return json.loads(out.read_text()), seen
