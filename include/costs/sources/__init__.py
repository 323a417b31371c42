"""One module per cost source; each turns its native API into FOCUS-shaped rows for a date range.

Every source exposes ``fetch(start, end, ...) -> DataFrame`` (both days inclusive) returning frames
normalized by :func:`include.costs.focus.normalize`, and ``is_configured()`` telling the DAG whether
the connection it needs exists (an unconfigured cloud is skipped, never an error).
"""

from __future__ import annotations

from datetime import date, timedelta


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def connection_exists(conn_id: str) -> bool:
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - AirflowNotFoundException differs across versions
        return False
    return True
