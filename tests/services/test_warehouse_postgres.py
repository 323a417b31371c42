"""The same warehouse code on PostgreSQL: only the connection changes."""

from __future__ import annotations

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
