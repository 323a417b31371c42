"""What a run spent on compute, as the ``extra`` of its ``compute_spent`` asset event.

``cloud_cost_report`` is scheduled on ``compute_spent``: a pipeline that trained, searched, sampled
or served a model says so when it ends, and the cost report runs (it reads the spend itself from
the Airflow task-time source; the event says *who* spent *what*, so a reader of the asset's
history needs no join).

What is measured, honestly: ``run_wall_s`` is the wall time from the DAG run's start to the
emitting task (the Task SDK's context carries the run's start date; the other tasks' durations
would need a call to the API server per task, which a cost note is not worth). ``steps_s`` are the
step timings the pipeline measured itself (a training loop, a search), passed in by the caller.
``device`` is what the caller ran on, or ``"unreported"``: we never guess a GPU.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _seconds_since(start: datetime | None, now: datetime) -> float | None:
    if start is None:
        return None
    if start.tzinfo is None:  # the SDK hands aware datetimes; a naive one is UTC by Airflow's rule
        start = start.replace(tzinfo=UTC)
    return round(max((now - start).total_seconds(), 0.0), 3)


def spent_extra(context: dict[str, Any], *, device: str | None = None, steps_s: dict[str, float] | None = None,
                now: datetime | None = None, **details: Any) -> dict[str, Any]:
    """The ``compute_spent`` extra for the running task's DAG run.

    ``details`` are JSON values the pipeline adds (``retrained=True``, ``rows_scored=1200``).
    """
    now = now or datetime.now(UTC)
    dag_run = context.get("dag_run")
    ti = context.get("ti")
    extra: dict[str, Any] = {
        "dag_id": getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", None),
        "run_id": context.get("run_id") or getattr(dag_run, "run_id", None),
        "emitted_by": getattr(ti, "task_id", None),
        "run_wall_s": _seconds_since(getattr(dag_run, "start_date", None), now),
        "steps_s": {name: round(float(s), 3) for name, s in (steps_s or {}).items()},
        "device": device or "unreported",
        "at": now.isoformat(),
    }
    return extra | details


def emit(context: dict[str, Any], asset: Any, **kwargs: Any) -> dict[str, Any]:
    """Attach :func:`spent_extra` to the running task's outlet event for ``asset``; returns the extra."""
    extra = spent_extra(context, **kwargs)
    context["outlet_events"][asset].extra = extra
    return extra
