"""`make start` / `make stop` for real: the UI and REST API come up, DAGs parse, nothing is left behind.

Runs the same scripts a newcomer runs, on a free port with a private AIRFLOW_HOME and data folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.emulators import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def _group_alive(pgid: int) -> bool:
    """A live (non-zombie) process is left in the group."""
    out = subprocess.run(["ps", "-eo", "pgid=,stat="], capture_output=True, text=True).stdout
    return any(int(g) == pgid and not st.startswith("Z") for g, st in (line.split() for line in out.splitlines()))


def test_make_start_serves_dags_and_make_stop_cleans_up(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW_PORT=str(port), GENAI_LOG_DIR=str(tmp_path / "logs"),
               AIRFLOW_VAR_GENAI_DATA_DIR=str(tmp_path / "data"))
    start = subprocess.run(["bash", "scripts/start.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=400)
    pgid_file = tmp_path / "home" / "airflow.pgid"
    try:
        assert start.returncode == 0, start.stdout[-3000:] + start.stderr[-3000:]
        assert f"http://localhost:{port}" in start.stdout
        base = f"http://localhost:{port}/api/v2"
        dag_ids = {d["dag_id"] for d in _get(f"{base}/dags?limit=100")["dags"]}
        assert "seed_demo_data" in dag_ids
        assert _get(f"{base}/importErrors")["total_entries"] == 0
        pools = {p["name"]: p["slots"] for p in _get(f"{base}/pools")["pools"]}
        assert pools.get("gpu") == 1 and pools.get("llm_api") == 2  # airflow_settings.yaml applied
        conns = {c["connection_id"] for c in _get(f"{base}/connections")["connections"]}
        assert "warehouse_default" in conns
        # Re-running start is safe: it reports the running stack instead of starting a second one.
        again = subprocess.run(["bash", "scripts/start.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=120)
        assert again.returncode == 0 and "already running" in again.stdout
    finally:
        pgid = int(pgid_file.read_text()) if pgid_file.exists() else None
        stop = subprocess.run(["bash", "scripts/stop.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
    assert stop.returncode == 0, stop.stderr
    assert pgid is not None and not _group_alive(pgid), "processes of the stack survived make stop"
