"""The same warehouse code on PostgreSQL: only the connection changes."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

from include.platform import warehouse


@pytest.fixture
def pg_warehouse(postgres_url, monkeypatch, lake):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", postgres_url)
    table = f"t_{uuid.uuid4().hex[:10]}"
    yield table
    warehouse.execute(f"DROP TABLE IF EXISTS {table}")


def test_replace_rows_on_postgres(pg_warehouse):
    table = pg_warehouse
    frame = pd.DataFrame({"id": ["a", "b"], "at": pd.Timestamp("2026-11-22", tz="UTC"), "n": [1, 2],
                          "score": [0.5, None], "BilledCost": [1.5, 2.5]})
    assert warehouse.get_hook().__class__.__name__ == "PostgresHook"
    warehouse.replace_rows(table, frame, ["id"])
    warehouse.replace_rows(table, frame.assign(n=[10, 20]), ["id"])  # rerun: replaced, not duplicated
    rows = warehouse.query(f"SELECT id, n, score, billedcost FROM {table} ORDER BY id")
    rows = rows.astype(object).where(rows.notna(), None)
    assert rows.values.tolist() == [["a", 10, 0.5, 1.5], ["b", 20, None, 2.5]]
    with pytest.raises(warehouse.WarehouseError, match="no column"):
        warehouse.replace_rows(table, frame.assign(extra=1), ["id"])


def test_question_mark_parameters_work_on_postgres(pg_warehouse):
    table = pg_warehouse
    warehouse.replace_rows(table, pd.DataFrame({"id": ["a", "b"], "batch": ["x", "y"]}), ["id"])
    warehouse.execute(f"DELETE FROM {table} WHERE batch <> ?", ["x"])
    assert warehouse.query(f"SELECT id FROM {table} WHERE batch = ?", ["x"])["id"].tolist() == ["a"]


def test_cost_pipeline_on_postgres(scratch_pg_warehouse, lake):
    """cloud_cost_report's steps on a Postgres warehouse: FOCUS load, analysis, report, idempotent rerun.

    Postgres folds unquoted mixed-case FOCUS names (``BilledCost``) to lower case; the pipeline must
    read them back under the names it wrote (found when the Celery suite ran this DAG on Postgres)."""
    from datetime import UTC, datetime

    from include.costs import focus, pipeline
    from include.costs.config import CostConfig
    from include.demo.writers import write_cost_exports

    day = datetime.now(UTC).date()
    write_cost_exports(day)
    cfg = CostConfig.from_params({"lookback_days": 35, "daily_budget_usd": 1000.0})
    for _rerun in range(2):  # the second pass is a rerun of the same day: nothing duplicates
        extracted = [pipeline.extract_source(cfg, "focus_files", day)]
        loaded = pipeline.load_focus_rows(extracted, day)
        assert loaded["rows_written"] == 350 and loaded["quarantined"] == 0, loaded
        rows = pipeline.read_rows(day, 35)
        assert len(rows) == 350 and {"BilledCost", "x_Source", "ChargePeriodStart"} <= set(rows.columns)
    findings = pipeline.analyze_day(cfg, day)
    assert findings["anomaly"]["is_anomaly"] and "Amazon SageMaker" in json.dumps(findings["anomaly"]["driver"])
    out = pipeline.write_cost_report(cfg, day, loaded, findings)
    assert out["total"] > 0 and "FOCUS 1.2 validation:" in (lake / "lake" / "reports" / "cost" / day.isoformat()
                                                             / "report.md").read_text()
    n = warehouse.query(f"SELECT COUNT(*) AS n FROM {focus.TABLE}")["n"][0]
    assert n == 350


def test_scaling_decisions_history_on_postgres(postgres_url, monkeypatch, lake):
    """autoscaling_monitor's decision log on Postgres: recorded rows come back as history (it once
    built SQL with the driver's own ``%s`` marker, which the warehouse then escaped: found by the
    Celery suite)."""
    from datetime import UTC, datetime, timedelta

    from include.scaling import decisions
    from include.scaling.policy import Decision

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", postgres_url)
    target = f"pool-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    try:
        for i, rec in enumerate((3, 5)):
            d = Decision(timestamp=now - timedelta(minutes=10 - i), current_replicas=1, recommendation=rec,
                         desired_replicas=rec, direction="up", driver="queue_depth", explanation=["test"])
            decisions.record(f"run-{target}-{i}", d, {}, "pool", target, dry_run=True, status="decided")
        past = decisions.history("pool", target, now - timedelta(hours=1), exclude_run_id=f"run-{target}-1")
        assert [p.replicas for p in past] == [3]
    finally:
        warehouse.execute(f"DELETE FROM {decisions.TABLE} WHERE target = ?", [target])
