"""The warehouse: SQL through Airflow's common-sql hooks, chosen by connection id.

The embedded default is a DuckDB file (connection ``warehouse_default`` in ``airflow_settings.yaml``,
``host: data/warehouse.duckdb``). Point the same connection id (or Variable
``genai_warehouse_conn_id``) at Postgres, BigQuery, Snowflake... and every pipeline writes there:
the code below only speaks DB-API through ``DbApiHook``.

Why a small wrapper instead of ``hook.insert_rows(replace=True)``: that needs a primary key and a
dialect-specific upsert, which DuckDB tables created from a frame do not have. Replace-by-key
(delete the incoming keys, insert the rows, one transaction) is idempotent on every SQL engine,
so a rerun of the same Airflow run never duplicates rows.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from include.platform.settings import WAREHOUSE_CONN_ID, data_dir, resolve_project_path, setting

if TYPE_CHECKING:
    import pandas as pd
    from airflow.providers.common.sql.hooks.sql import DbApiHook

log = logging.getLogger(__name__)

_IDENT = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")


class WarehouseError(RuntimeError):
    """A write the warehouse refused, with what to change in the message."""


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise WarehouseError(f"{name!r} is not a plain SQL identifier (letters, digits, underscore)")
    return name


def _quote(hook: DbApiHook, name: str) -> str:
    """Quote a lower-case identifier so reserved words (``at``, ``user``, ``order``) work as columns.

    Quoting a lower-case name changes nothing else on Postgres or DuckDB (unquoted names fold to
    lower case there). Mixed-case names (FOCUS's ``BilledCost``) stay unquoted, so they fold the
    same way in our DDL and in hand-written report SQL.
    """
    return hook.escape_word_format.format(name) if name == name.lower() else name


def warehouse_conn_id() -> str:
    return setting("warehouse_conn_id", WAREHOUSE_CONN_ID)


def get_hook(conn_id: str | None = None) -> DbApiHook:
    """The DB-API hook behind the warehouse connection.

    A missing ``warehouse_default`` connection falls back to the embedded DuckDB file under the
    project data folder (logged), so unit tests and first runs work with no settings at all.
    """
    from airflow.providers.duckdb.hooks.duckdb import DuckDBHook
    from airflow.sdk import BaseHook

    conn_id = conn_id or warehouse_conn_id()
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - AirflowNotFoundException and friends differ across versions
        if conn_id != WAREHOUSE_CONN_ID:
            raise WarehouseError(
                f"warehouse connection {conn_id!r} does not exist: add it in airflow_settings.yaml "
                "or as AIRFLOW_CONN_" + conn_id.upper()
            ) from None
        path = data_dir() / "warehouse.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        log.info("No %r connection; using the embedded DuckDB warehouse at %s", conn_id, path)
        return DuckDBHook(database=str(path))
    if conn.conn_type == "duckdb":
        database = resolve_project_path(conn.host or str(data_dir() / "warehouse.duckdb"))
        if database != ":memory:" and "://" not in database:
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return DuckDBHook(duckdb_conn_id=conn_id, database=database)
    return conn.get_hook()


def _dialect(hook: DbApiHook) -> str:
    return (getattr(hook, "conn_type", None) or hook.__class__.__name__).lower()


def _is_duckdb(hook: DbApiHook) -> bool:
    return "duckdb" in _dialect(hook)


class _SingleCursorConnection:
    """DuckDB's ``cursor()`` opens a *separate* connection with its own (auto-committed)
    transaction, so statements run through it would escape our BEGIN/COMMIT. This wrapper hands
    out the connection itself as the cursor, keeping every statement in one transaction."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def cursor(self) -> Any:
        return self._conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@contextmanager
def connect(hook: DbApiHook | None = None, retry_seconds: float = 60.0) -> Iterator[Any]:
    """A DB-API connection that commits on success and rolls back on error.

    DuckDB lets one process write a database file at a time; parallel Airflow tasks therefore wait
    for the lock (with backoff, up to ``retry_seconds``) instead of failing.
    """
    hook = hook or get_hook()
    deadline = time.monotonic() + retry_seconds
    delay = 0.2
    while True:
        try:
            conn = hook.get_conn()
            break
        except Exception as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            log.info("Warehouse busy (%s); retrying in %.1fs", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    try:
        if hasattr(conn, "autocommit") and not _is_duckdb(hook):
            conn.autocommit = False
        if _is_duckdb(hook):
            conn.execute("BEGIN TRANSACTION")
            yield _SingleCursorConnection(conn)
        else:
            yield conn
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.close()


def _sql_type(dtype: Any) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE PRECISION"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "TIMESTAMPTZ"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "TIMESTAMP"
    return "TEXT"


def _columns(cursor: Any, table: str) -> list[str] | None:
    """Column names of ``table`` in the current schema, or None when it does not exist.

    Asked through information_schema (DuckDB, Postgres, MySQL, Snowflake all have it) rather than by
    trying a SELECT: a failed statement aborts the whole transaction on Postgres.
    """
    cursor.execute(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE lower(table_name) = '{_ident(table).lower()}' AND table_schema = current_schema()"
    )
    names = [str(r[0]).lower() for r in cursor.fetchall()]
    return names or None


def _python_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as plain Python values (numpy scalars and NaN/NaT become int/float/None)."""
    import pandas as pd

    cols = []
    for name in frame.columns:
        series = frame[name]
        values = series.astype(object).where(series.notna(), None).tolist()
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            values = [v.to_pydatetime() if v is not None else None for v in values]
        cols.append(values)
    return list(zip(*cols, strict=True)) if cols else []


def replace_rows(
    table: str,
    frame: pd.DataFrame,
    key_columns: Sequence[str],
    hook: DbApiHook | None = None,
    *,
    add_columns: bool = False,
) -> int:
    """Idempotently write ``frame`` into ``table``: rows whose key already exists are replaced.

    Creates the table from the frame's dtypes on first write. Runs as one transaction, so a failure
    leaves the previous rows untouched. Returns the number of rows written. ``add_columns=True``
    lets a table written by an older release gain the frame's new columns (``ALTER TABLE ... ADD
    COLUMN``, nullable, in the same transaction); otherwise an unknown column is an error naming
    the fix, because a typo in a column name must not silently widen a table.
    """
    _ident(table)
    for col in frame.columns:
        _ident(col)
    missing_keys = [k for k in key_columns if k not in frame.columns]
    if missing_keys:
        raise WarehouseError(f"{table}: key columns {missing_keys} are not in the frame")
    if frame.duplicated(subset=list(key_columns)).any():
        dupes = frame[frame.duplicated(subset=list(key_columns), keep=False)][list(key_columns)].head(5)
        raise WarehouseError(f"{table}: duplicate keys in the incoming rows, e.g. {dupes.to_dict('records')}")

    hook = hook or get_hook()
    cols = list(frame.columns)
    q = {c: _quote(hook, c) for c in cols}
    with connect(hook) as conn:
        cur = conn.cursor()
        existing = _columns(cur, table)
        if existing is None:
            ddl = ", ".join(f"{q[c]} {_sql_type(frame[c].dtype)}" for c in cols)
            cur.execute(f"CREATE TABLE IF NOT EXISTS {table} ({ddl})")
        else:
            unknown = [c for c in cols if c.lower() not in existing]
            if unknown and add_columns:
                for c in unknown:
                    cur.execute(f"ALTER TABLE {table} ADD COLUMN {q[c]} {_sql_type(frame[c].dtype)}")
                unknown = []
            if unknown:
                raise WarehouseError(
                    f"{table} has no column(s) {unknown}: add them (ALTER TABLE {table} ADD COLUMN ...) "
                    "or drop the table to let the pipeline recreate it"
                )
        if frame.empty:
            return 0
        col_list = ", ".join(q[c] for c in cols)
        if _is_duckdb(hook):
            cur.register("_incoming", frame)
            match = " AND ".join(f"{table}.{q[k]} = _incoming.{q[k]}" for k in key_columns)
            cur.execute(f"DELETE FROM {table} USING _incoming WHERE {match}")
            cur.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM _incoming")
            cur.unregister("_incoming")
        else:
            ph = hook.placeholder
            rows = _python_rows(frame)
            key_idx = [cols.index(k) for k in key_columns]
            keys = sorted({tuple(r[i] for i in key_idx) for r in rows}, key=repr)
            where = " AND ".join(f"{q[k]} = {ph}" for k in key_columns)
            cur.executemany(f"DELETE FROM {table} WHERE {where}", keys)
            values = ", ".join([ph] * len(cols))
            cur.executemany(f"INSERT INTO {table} ({col_list}) VALUES ({values})", rows)
    log.info("Wrote %d rows into %s (replace by %s)", len(frame), table, list(key_columns))
    return len(frame)


_QUOTED_OR_QMARK = re.compile(r"('(?:[^']|'')*')|\?")


def adapt_placeholders(sql: str, hook: DbApiHook) -> str:
    """Turn ``?`` placeholders into the engine's own (``%s`` for psycopg), outside quoted strings.

    Pipelines write portable SQL with ``?`` (DuckDB's style) only. For ``%s``-style drivers every
    literal ``%`` (``LIKE '%word%'``) is doubled first, since those drivers read ``%`` everywhere.
    """
    placeholder = getattr(hook, "placeholder", "?") or "?"
    if placeholder == "?":
        return sql
    if "%" in placeholder:
        sql = sql.replace("%", "%%")
    return _QUOTED_OR_QMARK.sub(lambda m: m.group(1) or placeholder, sql)


def query(sql: str, parameters: Sequence[Any] | None = None, hook: DbApiHook | None = None) -> pd.DataFrame:
    """Run a read query and return a DataFrame (empty frame with no rows). Placeholders: ``?``."""
    import pandas as pd

    hook = hook or get_hook()
    written = sql
    if parameters:
        sql = adapt_placeholders(sql, hook)
    with connect(hook) as conn:
        cur = conn.cursor()
        cur.execute(sql, parameters or [])
        names = restore_case([d[0] for d in cur.description], written)
        return pd.DataFrame(cur.fetchall(), columns=names)


def restore_case(names: Sequence[str], sql: str) -> list[str]:
    """Result column names as the query spelled them.

    Postgres (and Redshift) fold unquoted identifiers to lower case, Snowflake to upper case, so
    ``SELECT BilledCost ...`` comes back as ``billedcost`` there and as ``BilledCost`` on DuckDB.
    Code reading ``frame["BilledCost"]`` must work on every warehouse: a name that appears in the
    SQL text with other casing (as a whole word) takes that spelling; anything else is unchanged.
    """
    out = []
    for name in names:
        if re.search(rf"(?<![\w\"]){re.escape(name)}(?![\w\"])", sql):
            out.append(name)
            continue
        match = re.search(rf"(?<![\w\"]){re.escape(name)}(?![\w\"])", sql, flags=re.IGNORECASE)
        out.append(match.group(0) if match else name)
    return out


def execute(sql: str, parameters: Sequence[Any] | None = None, hook: DbApiHook | None = None) -> None:
    """Run one statement (DDL, a view definition, a delete) in its own transaction. Placeholders: ``?``."""
    hook = hook or get_hook()
    if parameters:
        sql = adapt_placeholders(sql, hook)
    with connect(hook) as conn:
        conn.cursor().execute(sql, parameters or [])


def table_exists(table: str, hook: DbApiHook | None = None) -> bool:
    hook = hook or get_hook()
    with connect(hook) as conn:
        return _columns(conn.cursor(), _ident(table)) is not None
