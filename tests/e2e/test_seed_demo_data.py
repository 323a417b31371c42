"""End to end: seed_demo_data writes every pipeline's input into the lake, reproducibly."""

from __future__ import annotations

import hashlib

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

    # Idempotent and reproducible: a second run of the same day rewrites the same bytes.
    before = _digest(raw)
    assert dag.test(logical_date=DAY, run_conf={"customer_rows": 1_000, "feedback_per_day": 200}).state == "success"
    assert _digest(raw) == before
