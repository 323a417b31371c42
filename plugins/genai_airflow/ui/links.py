"""The "Report" button on a DAG run's final task(s): one click from a run to the report it wrote.

A *global* operator extra link (plugin ``global_operator_extra_links``): the API server computes it
for any task when the task page opens, so no DAG file or operator changes. It is shown on the
run's leaf tasks (nothing downstream: the task that ends the run) of DAGs that have a reports folder
in the lake, and hidden (empty URL) elsewhere. The URL does not try to guess the report's path:
``/genai/run/<dag_id>/<run_id>`` lets the app look the run up (start/end, logical date, conf) and
open the report(s) that run wrote, or the DAG's list when it wrote none.

Why not a run note: a note set by the report task needs a REST call with credentials from inside
the task and is overwritten by anyone editing the note; the link needs nothing from the task.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink


def _base_url() -> str:
    """The UI's configured base URL ([api] base_url), else a relative link (same origin as the UI)."""
    try:
        from airflow.configuration import conf

        return (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    except Exception:  # noqa: BLE001 - no configuration readable: a relative link still works in the UI
        return ""


def _has_reports(dag_id: str) -> bool:
    try:
        from include.platform import reports_view

        return reports_view.report_path(dag_id).exists()
    except Exception:  # noqa: BLE001 - lake unreachable or odd id: hide the button rather than break the page
        return False


class RunReportLink(BaseOperatorLink):
    """``/genai/run/<dag_id>/<run_id>`` on the last task(s) of a run of a DAG that writes reports."""

    name = "Report"
    #: Where ``plugins/genai_plugin.py`` mounts the ``/genai`` FastAPI app (one place for the prefix).
    url_prefix = "/genai"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        dag_id = getattr(ti_key, "dag_id", None) or getattr(operator, "dag_id", None)
        run_id = getattr(ti_key, "run_id", None)
        if not dag_id or not run_id or getattr(operator, "downstream_task_ids", None):
            return ""
        if not _has_reports(dag_id):
            return ""
        return f"{_base_url()}{self.url_prefix}/run/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"
