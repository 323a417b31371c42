from __future__ import annotations

import json

import pandas as pd
import pytest

from include.platform import warehouse
from include.platform.settings import PROJECT_DIR


def _frame(ids, version="v1"):
    return pd.DataFrame({"feedback_id": ids, "model_version": version, "score": [0.5] * len(ids),
                         "at": pd.Timestamp("2026-11-22", tz="UTC")})


def test_replace_rows_is_idempotent_by_key(lake):
    key = ["feedback_id", "model_version"]
    assert warehouse.replace_rows("results", _frame(["a", "b", "c"]), key) == 3
    assert warehouse.replace_rows("results", _frame(["a", "b", "c"]), key) == 3  # rerun
    warehouse.replace_rows("results", _frame(["a"], version="v2"), key)  # other key: added
    changed = _frame(["b"]).assign(score=0.9)
    warehouse.replace_rows("results", changed, key)  # same key: replaced
    rows = warehouse.query("SELECT feedback_id, model_version, score FROM results ORDER BY 1, 2")
    assert rows.values.tolist() == [["a", "v1", 0.5], ["a", "v2", 0.5], ["b", "v1", 0.9], ["c", "v1", 0.5]]


def test_new_columns_are_refused_unless_asked_for(lake):
    key = ["feedback_id", "model_version"]
    warehouse.replace_rows("results", _frame(["a"]), key)
    wider = _frame(["b"]).assign(byte_offset=17)
    with pytest.raises(warehouse.WarehouseError, match=r"has no column\(s\) \['byte_offset'\]"):
        warehouse.replace_rows("results", wider, key)
    assert warehouse.replace_rows("results", wider, key, add_columns=True) == 1
    rows = warehouse.query("SELECT feedback_id, byte_offset FROM results ORDER BY 1")
    assert rows["feedback_id"].tolist() == ["a", "b"]
    assert pd.isna(rows["byte_offset"].iloc[0]) and rows["byte_offset"].iloc[1] == 17


def test_embedded_default_lives_in_the_data_folder(lake):
    warehouse.replace_rows("t", _frame(["a"]), ["feedback_id"])
    assert (lake / "warehouse.duckdb").exists()
    assert warehouse.table_exists("t") and not warehouse.table_exists("nope")


def test_relative_duckdb_path_in_connection_resolves_under_project(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps({"conn_type": "duckdb", "host": "data/x.duckdb"}))
    hook = warehouse.get_hook()
    assert hook.get_database() == str(PROJECT_DIR / "data" / "x.duckdb")


def test_unknown_connection_names_the_fix(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_WAREHOUSE_CONN_ID", "warehouse_pg")
    with pytest.raises(warehouse.WarehouseError, match="AIRFLOW_CONN_WAREHOUSE_PG"):
        warehouse.get_hook()


def test_bad_writes_fail_with_what_to_fix_and_change_nothing(lake):
    warehouse.replace_rows("t", _frame(["a"]), ["feedback_id"])
    with pytest.raises(warehouse.WarehouseError, match=r"no column\(s\) \['extra'\]"):
        warehouse.replace_rows("t", _frame(["b"]).assign(extra=1), ["feedback_id"])
    with pytest.raises(warehouse.WarehouseError, match="duplicate keys"):
        warehouse.replace_rows("t", _frame(["b", "b"]), ["feedback_id"])
    with pytest.raises(warehouse.WarehouseError, match="not a plain SQL identifier"):
        warehouse.replace_rows("t; drop table t", _frame(["b"]), ["feedback_id"])
    assert warehouse.query("SELECT count(*) AS n FROM t")["n"].tolist() == [1]


def test_failed_transaction_rolls_back(lake):
    warehouse.replace_rows("t", _frame(["a", "b"]), ["feedback_id"])
    hook = warehouse.get_hook()
    with pytest.raises(Exception, match="boom"), warehouse.connect(hook) as conn:
        conn.cursor().execute("DELETE FROM t")
        raise RuntimeError("boom")
    assert warehouse.query("SELECT count(*) AS n FROM t")["n"].tolist() == [2]


def test_question_mark_placeholders_are_adapted_per_engine():
    class PgLike:
        placeholder = "%s"

    sql = "SELECT * FROM t WHERE a = ? AND b = 'why?' AND c <> ?"
    assert warehouse.adapt_placeholders(sql, PgLike()) == "SELECT * FROM t WHERE a = %s AND b = 'why?' AND c <> %s"

    class DuckLike:
        placeholder = "?"

    assert warehouse.adapt_placeholders(sql, DuckLike()) == sql


def test_percent_literals_survive_pyformat_drivers():
    class PgLike:
        placeholder = "%s"

    sql = "SELECT * FROM t WHERE text LIKE '%late%' AND d = ?"
    assert warehouse.adapt_placeholders(sql, PgLike()) == "SELECT * FROM t WHERE text LIKE '%%late%%' AND d = %s"


@pytest.mark.parametrize(("returned", "expected"), [
    (["billedcost", "x_source", "n"], ["BilledCost", "x_Source", "n"]),  # Postgres / Redshift fold to lower
    (["BILLEDCOST", "X_SOURCE", "N"], ["BilledCost", "x_Source", "n"]),  # Snowflake folds to upper
    (["BilledCost", "x_Source", "n"], ["BilledCost", "x_Source", "n"]),  # DuckDB keeps the spelling
])
def test_result_columns_keep_the_spelling_of_the_query(returned, expected):
    sql = "SELECT BilledCost, x_Source, COUNT(*) AS n FROM focus_costs WHERE ChargePeriodStart >= ?"
    assert warehouse.restore_case(returned, sql) == expected


def test_restore_case_leaves_names_the_query_did_not_spell_and_quoted_ones():
    assert warehouse.restore_case(["id", "billedcost"], "SELECT * FROM t") == ["id", "billedcost"]
    # a quoted "Mixed" column really is lower case on the server when written "billedcost": no guessing
    assert warehouse.restore_case(["billedcost"], 'SELECT "billedcost", BilledCostX FROM t') == ["billedcost"]
