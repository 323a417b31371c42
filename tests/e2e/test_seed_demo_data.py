"""End to end: seed_demo_data writes every pipeline's input into the lake, reproducibly."""

from __future__ import annotations

import hashlib
import os

import pendulum
import pytest

pytestmark = pytest.mark.usefixtures("airflow_db")

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")


def _digest(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_seed_demo_data_writes_every_input(dagbag, lake):
    import pandas as pd

    dag = dagbag.get_dag("seed_demo_data")
    run = dag.test(logical_date=DAY, run_conf={"customer_rows": 1_000, "feedback_per_day": 200})
    assert run.state == "success"

    raw = lake / "lake" / "raw"
    feedback = sorted((raw / "feedback").rglob("*.jsonl"))
    assert [p.parent.name for p in feedback] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    lines = feedback[-1].read_text().splitlines()
    assert len(lines) >= 200
    customers = pd.read_parquet(raw / "customers" / "customers.parquet")
    assert customers.shape == (1_000, 12)
    assert {p.parent.name for p in (raw / "features").rglob("*.parquet")} == {"reference", "2026-11-21", "2026-11-22"}
    assert len(list((raw / "costs" / "focus").rglob("*.csv"))) == 6
    assert len(list((raw / "requests" / "pending").glob("request-*.json"))) == 25
    trace = pd.read_parquet(raw / "metrics" / "trace-2026-11-22.parquet")
    assert len(trace) == 48 * 4
    knowledge = raw / "knowledge"
    assert sorted(p.name for p in knowledge.iterdir()) == ["handbook", "pydantic_ai_agents"]
    assert (knowledge / "pydantic_ai_agents" / "LICENSE.txt").read_text().startswith("The MIT License")
    assert {p.suffix for p in (knowledge / "handbook").iterdir()} == {".md", ".html", ".txt"}
    briefs = (raw / "briefs" / "2026-11-22" / "demo-briefs.jsonl").read_text().splitlines()
    assert len(briefs) == 4 and all('"brief_id"' in line and '"topic"' in line for line in briefs)

    # Idempotent and reproducible: a second run of the same day rewrites the same bytes.
    before = _digest(raw)
    assert dag.test(logical_date=DAY, run_conf={"customer_rows": 1_000, "feedback_per_day": 200}).state == "success"
    assert _digest(raw) == before


def test_existing_objects_are_never_overwritten(dagbag, lake):
    """A file already at a demo key (a real input of the same name) keeps its bytes; the rest is seeded."""
    import json

    raw = lake / "lake" / "raw"
    mine = {
        raw / "customers" / "customers.parquet": b"not parquet: somebody's real table",
        raw / "feedback" / "2026-11-22" / "export-2026-11-22.jsonl": b'{"real": true}\n',
        raw / "requests" / "pending" / "request-00003.json": b'{"id": "real-3", "prompt": "keep me"}',
    }
    for path, data in mine.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (1_000_000_000, 1_000_000_000))

    dag = dagbag.get_dag("seed_demo_data")
    run = dag.test(logical_date=DAY, run_conf={"customer_rows": 1_000, "feedback_per_day": 200})
    assert run.state == "success"

    for path, data in mine.items():
        assert path.read_bytes() == data and path.stat().st_mtime == 1_000_000_000, path
    # Everything else was written as usual.
    assert sorted(p.parent.name for p in (raw / "feedback").rglob("*.jsonl")) == ["2026-11-20", "2026-11-21",
                                                                                  "2026-11-22"]
    assert len(list((raw / "requests" / "pending").glob("request-*.json"))) == 25
    # The task's return value (XCom) lists only what it wrote.
    ti = next(t for t in run.get_task_instances() if t.task_id == "feedback")
    written = ti.xcom_pull(task_ids="feedback")
    assert [p.rsplit("/", 2)[1] for p in written] == ["2026-11-20", "2026-11-21"]
    assert json.loads((raw / "requests" / "pending" / "request-00003.json").read_text())["id"] == "real-3"


def test_a_lake_other_than_the_default_one_is_refused_unless_allowed(dagbag, lake, tmp_path, monkeypatch):
    other = tmp_path / "someone-elses-lake"
    other.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", f"file://{other}")
    dag = dagbag.get_dag("seed_demo_data")
    conf = {"customer_rows": 1_000, "feedback_per_day": 50, "days": 1, "pending_requests": 2}

    refused = dag.test(logical_date=DAY, run_conf=conf)
    states = {t.task_id: (t.state, t.try_number) for t in refused.get_task_instances()}
    assert refused.state == "failed"
    assert states["check_lake"] == ("failed", 1)  # a ConfigError: no retries
    assert {s for task, (s, _) in states.items() if task != "check_lake"} == {"upstream_failed"}
    assert list(other.rglob("*")) == []

    allowed = dag.test(logical_date=DAY.add(days=1), run_conf={**conf, "allow_other_lake": True})
    assert allowed.state == "success"
    assert (other / "raw" / "customers" / "customers.parquet").exists()
