"""Is an optional connection configured? One answer for every room.

Cloud work sits behind provider connections; with none configured a DAG runs on its embedded
default. Five copies of "try get_connection, except → absent" existed; they differed in what they
swallowed. Here: a connection that is not found (or no metadata DB outside a task) is absent; inside
a running task any *other* error (a secrets backend denying access) propagates, like
:func:`include.platform.settings.get_setting`, so a misconfigured backend is not mistaken for "use
the local default".
"""

from __future__ import annotations

from typing import Any


def lookup(conn_id: str) -> Any | None:
    """The connection ``conn_id``, or None when it is not defined."""
    from airflow.sdk import BaseHook

    from include.platform.settings import in_task

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:
        if type(exc).__name__ == "AirflowNotFoundException" or not in_task():
            return None
        raise


def connection_exists(conn_id: str) -> bool:
    """True when ``conn_id`` is defined (env ``AIRFLOW_CONN_*``, metadata DB or a secrets backend)."""
    return lookup(conn_id) is not None


def connection_type(conn_id: str) -> str | None:
    """The connection's ``conn_type`` (``aws``, ``google_cloud_platform`` ...), or None when absent."""
    conn = lookup(conn_id)
    return None if conn is None else conn.conn_type
