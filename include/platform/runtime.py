"""Small helpers about the running Airflow context, shared by every DAG's tasks."""

from __future__ import annotations

from datetime import date
from typing import Any


def run_date(context: dict[str, Any]) -> date:
    """The calendar day a run is about.

    A run started by a lake arrival (a watcher's event whose key starts with ``YYYY-MM-DD/``) is about
    *that* day's folder, not the day the scheduler picked it up. Airflow 3 lets a manual or
    API-triggered run have no logical date; fall back to the run's ``run_after`` (when it was asked to
    run) so such runs still process "today".
    """
    if context.get("triggering_asset_events"):
        from include.platform.lake_watch import arrived_day

        arrived = arrived_day(context)
        if arrived is not None:
            return arrived
    logical = context.get("logical_date")
    if logical is not None:
        return logical.date()
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None)
    if run_after is not None:
        return run_after.date()
    import pendulum

    return pendulum.now("UTC").date()


def worker_hostname() -> str:
    """Hostname Airflow records for task instances: the FQDN, plus ``GENAI_WORKER_NAME`` when set.

    Several Celery workers on one machine otherwise report the same hostname, so neither the UI nor
    a test can tell which worker ran (or lost) a task. Enabled with
    ``AIRFLOW__CORE__HOSTNAME_CALLABLE=include.platform.runtime.worker_hostname``.
    """
    import os
    import socket

    name = os.environ.get("GENAI_WORKER_NAME")
    host = socket.getfqdn()
    return f"{host}-{name}" if name else host
