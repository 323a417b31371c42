"""`make start` / `make stop` for real: the UI and REST API come up, DAGs parse, nothing is left behind."""

from __future__ import annotations

import pytest

from tests.fixtures.local_stack import local_stack

pytestmark = pytest.mark.slow


def test_make_start_serves_dags_and_make_stop_cleans_up(tmp_path):
    with local_stack(tmp_path) as stack:
        assert stack.url in stack.start_output
        dag_ids = {d["dag_id"] for d in stack.request("GET", "dags?limit=100")["dags"]}
        assert {"seed_demo_data", "train_sentiment_model"} <= dag_ids
        assert stack.request("GET", "importErrors")["total_entries"] == 0
        pools = {p["name"]: p["slots"] for p in stack.request("GET", "pools")["pools"]}
        assert pools.get("gpu") == 1 and pools.get("llm_api") == 2  # airflow_settings.yaml applied
        conns = {c["connection_id"] for c in stack.request("GET", "connections")["connections"]}
        assert "warehouse_default" in conns
        # Re-running start is safe: it reports the running stack instead of starting a second one.
        again = stack.run_script("start.sh", timeout=120)
        assert again.returncode == 0 and "already running" in again.stdout
