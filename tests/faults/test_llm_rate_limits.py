"""The LLM sentiment path against an API that rate-limits and hangs, through the real scheduler.

`make start`'s stack (LocalExecutor, pools from airflow_settings.yaml) runs
customer_sentiment_analysis with ``backend=llm`` against our OpenAI-compatible stub server, which
answers a burst of 429s (longer than one task's client-side retry budget), hung requests and a 500
on a fixed schedule. The run must finish with every scorable row labeled, through the two retry
layers the DAG documents (the client's exponential backoff inside a task, Airflow's exponential
task retries around it), and the API must never see more concurrent requests than the ``llm_api``
pool has slots. The retries each layer needed are written to ``artifacts/faults/llm_retries.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fixtures.emulators import free_port
from tests.fixtures.local_stack import local_stack
from tests.fixtures.openai_stub import OpenAIStub, serve

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "customer_sentiment_analysis"
DAY = "2026-11-20"  # not the cron's latest day: the scheduled run that unpausing creates finds no files
CLIENT_TIMEOUT_S = 2
CLIENT_RETRIES = 2  # 3 attempts per task try
POOL_SLOTS = 2  # llm_api in airflow_settings.yaml
# Requests 3-10: a 429 burst of 8, more than POOL_SLOTS tasks x 3 attempts can absorb, so at least one
# task must fail a try and be retried by Airflow. Then a 500 and two hung requests. The run sends
# one good request per chunk (>= 5) plus one per fault, so every scheduled fault is reached.
FAULTS = {n: "429" for n in range(3, 11)} | {12: "500", 14: "timeout", 15: "timeout"}


def _seed_feedback(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from include.demo.writers import write_feedback

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_DATA_DIR", str(data_dir))
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", raising=False)
    write_feedback(date.fromisoformat(DAY), days=1, per_day=120, malformed_share=0.0)


def test_llm_backend_survives_429_bursts_and_timeouts_within_its_pool(tmp_path, monkeypatch):
    import duckdb

    data = tmp_path / "data"
    _seed_feedback(data, monkeypatch)
    stub = OpenAIStub(faults=FAULTS, hang_s=CLIENT_TIMEOUT_S + 3, client_timeout_s=CLIENT_TIMEOUT_S)
    with serve(stub, free_port()):
        env = {
            # What a user puts in .env for a self-hosted OpenAI-compatible server (vLLM, Ollama...).
            "AIRFLOW_CONN_SENTIMENT_LLM": json.dumps({
                "conn_type": "pydanticai", "host": stub.url, "password": "stub-key",  # pragma: allowlist secret
                "extra": {"model": "openai-chat:stub-sentiment"}}),
            "AIRFLOW_CONN_WAREHOUSE_DEFAULT": json.dumps({"conn_type": "duckdb",
                                                          "host": str(data / "warehouse.duckdb")}),
        }
        with local_stack(tmp_path, first_start_seed=False, extra_env=env) as stack:
            conf = {"backend": "llm", "chunk_size": 20, "llm_timeout_s": CLIENT_TIMEOUT_S,
                    "llm_max_retries": CLIENT_RETRIES}
            started = time.monotonic()
            run_id = stack.trigger(DAG_ID, conf, logical_date=f"{DAY}T03:00:00Z")
            state = stack.wait_run(DAG_ID, run_id, timeout=900)
            wall = time.monotonic() - started
            tis = stack.task_instances(DAG_ID, run_id)
            assert state == "success", [(t["task_id"], t["map_index"], t["state"], t["try_number"]) for t in tis]
            task_retries = stack.retries(DAG_ID, run_id)
            pool = {p["name"]: p["slots"] for p in stack.request("GET", "pools")["pools"]}["llm_api"]
    api = stub.summary()

    llm_tis = [t for t in tis if t["task_id"] == "llm_classify"]
    chunks = len(llm_tis)
    assert chunks >= 5 and all(t["state"] == "success" for t in llm_tis)
    # Every faulted request was sent again (by the client or by a task retry) and nothing else was:
    # one distinct prompt per chunk, one resend per fault.
    assert api["outcomes"] == {"ok": chunks, "429": 8, "timeout": 2, "500": 1}, api
    assert api["distinct_prompts"] == chunks and api["retried_requests"] == len(FAULTS), api
    assert task_retries["llm_classify"] >= 1, task_retries  # the burst outlasted a task's client retries
    assert pool == POOL_SLOTS and api["peak_in_flight"] <= POOL_SLOTS, api  # the pool bounded the API load

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        ok = con.execute("SELECT count(*) FROM feedback_clean WHERE ingest_date = ? AND status = 'ok'",
                         [DAY]).fetchone()[0]
        labeled, versions = con.execute(
            "SELECT count(DISTINCT feedback_id), list(DISTINCT model_version) FROM sentiment_results "
            "WHERE feedback_date = ?", [DAY]).fetchone()
    finally:
        con.close()
    assert ok > 0 and labeled == ok, (ok, labeled)  # every scorable row labeled exactly once
    assert versions == ["llm:sentiment_llm:connection-model"]

    record = {"dag_id": DAG_ID, "run_id": run_id, "wall_s": round(wall, 1), "chunks": chunks,
              "api_requests": api["requests"], "api_outcomes": api["outcomes"],
              "client_or_task_resends": api["retried_requests"],
              "task_retries": {k: v for k, v in task_retries.items() if v},
              "client_retries_per_task_try": CLIENT_RETRIES, "peak_requests_in_flight": api["peak_in_flight"],
              "llm_api_pool_slots": pool}
    out = ROOT / "artifacts" / "faults"
    out.mkdir(parents=True, exist_ok=True)
    (out / "llm_retries.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
