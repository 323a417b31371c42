"""Where every tunable deployment setting is read, in one place.

A setting is an Airflow Variable named ``genai_<name>``. Airflow resolves Variables from its secrets
backends first, so each one can be set three ways without code changes:

* the environment: ``AIRFLOW_VAR_GENAI_LAKE_ROOT=s3://my-bucket/lake`` (what ``.env`` and Astro use),
* ``airflow_settings.yaml`` / the UI (stored in the metadata DB),
* a secrets backend (AWS Secrets Manager, GCP Secret Manager, Key Vault).

Settings are read at task run time only. DAG files never call these functions at top level, so
parsing stays free of I/O (see the parse-cost test).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: The project checkout (or /usr/local/airflow in the Astro image): parent of ``include/``.
PROJECT_DIR = Path(__file__).resolve().parents[2]

DEFAULT_DATA_DIR = PROJECT_DIR / "data"

#: Connection ids the project uses; each is optional and falls back to the embedded default.
WAREHOUSE_CONN_ID = "warehouse_default"
SLACK_CONN_ID = "slack_alerts"
SMTP_CONN_ID = "smtp_alerts"


def get_setting(name: str, default: str | None = None) -> str | None:
    """Return Variable ``genai_<name>`` (env, DB or secrets backend), else ``default``.

    An empty value counts as unset: ``airflow_settings.yaml`` lists every setting with ``""`` so
    users can see and fill them, and "" must mean "use the default", not "the empty string".

    Inside a running task a missing Variable means the default (the Task SDK's ``Variable.get``
    returns it for VARIABLE_NOT_FOUND), but any error the lookup raises — a secrets backend that
    denies access, a broken backend config — propagates: falling back to the default there once
    sent one worker's lake to its local disk while the others wrote to S3. Outside a task (unit
    tests, scripts, no metadata DB) only the environment and secrets backends can answer, and a
    failed lookup still means the default, because every setting has one.
    """
    key = f"genai_{name}"
    value = os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
    if value is None:
        value = _variable_or_none(key, default)
    return default if value is None or value.strip() == "" else value


def setting(name: str, default: str) -> str:
    """:func:`get_setting` for a setting that always has a value: Variable ``genai_<name>``, else ``default``.

    Replaces the ``get_setting(x, D) or D`` idiom (an empty Variable already means the default).
    """
    value = get_setting(name, default)
    return default if value is None else value


def in_task() -> bool:
    """True while task code runs under the Task SDK (a worker, or ``dag.test()``'s in-process runner).

    Both set ``task_runner.SUPERVISOR_COMMS`` for the task's duration (``dag.test()`` through
    ``set_supervisor_comms``); the SDK itself uses the same test to pick its secrets backends.
    """
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:
        return False
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def _variable_or_none(key: str, default: str | None) -> str | None:
    try:
        from airflow.sdk import Variable

        return Variable.get(key, default=None)
    except Exception as exc:
        if in_task():
            exc.add_note(f"while reading Variable {key} (a genai setting): not falling back to {default!r} "
                         "inside a task; fix the secrets backend or its permissions")
            raise
        log.debug("Variable %s unavailable outside a task (%s); using default %r", key, exc, default)
        return None


def data_dir() -> Path:
    """Project-local folder that holds the embedded defaults (lake files, DuckDB warehouse)."""
    return Path(setting("data_dir", str(DEFAULT_DATA_DIR)))


def resolve_project_path(path: str) -> str:
    """Make a relative path (as written in ``airflow_settings.yaml``) absolute under the project.

    ``airflow_settings.yaml`` is shared by ``astro dev start`` (project at /usr/local/airflow) and
    ``make start`` (project wherever it was cloned), so local paths in it are relative.
    """
    if not path or path == ":memory:" or "://" in path or path.startswith("md:"):
        return path
    p = Path(path)
    return str(p if p.is_absolute() else PROJECT_DIR / p)


def allowed_values(kind: str, defaults: tuple[str, ...] | list[str]) -> list[str]:
    """The allow-list for a Param that grants reach: ``defaults`` plus Variable ``genai_allowed_<kind>``.

    The Variable is a comma-separated list an operator sets (``AIRFLOW_VAR_GENAI_ALLOWED_POOLS=batch_inference,gpu``);
    analysts who trigger a DAG can pick only what it lists, so a trigger form cannot resize
    ``default_pool`` or point a task at an arbitrary connection.
    """
    extra = [v.strip() for v in setting(f"allowed_{kind}", "").split(",") if v.strip()]
    return list(dict.fromkeys([*defaults, *extra]))


def check_allowed(kind: str, value: str, defaults: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` if the allow-list for ``kind`` holds it, else fail at once naming the Variable."""
    from include.platform.errors import ConfigError

    allowed = allowed_values(kind, defaults)
    if value not in allowed:
        raise ConfigError(
            f"{kind[:-1] if kind.endswith('s') else kind} {value!r} is not allowed here (allowed: {allowed})",
            f"pick one of those, or have an operator add it to Variable genai_allowed_{kind}",
        )
    return value
