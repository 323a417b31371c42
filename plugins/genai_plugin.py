"""The project's Airflow plugin: GPU operator links, and the analyst's view (Reports, Models) in the UI.

Airflow 3 stores extra links per task as XCom (computed on the worker) and the API server resolves
the link classes of a serialized task through plugins; without this registration the "GPU pool" and
"GPU dashboard" buttons of ``GPUJobOperator`` would not appear. Operators, sensors and triggers need
no registration in Airflow 3: DAGs import them from the one namespaced package,
``genai_airflow.<domain>.<kind>`` (e.g. ``genai_airflow.gpu.operators``), since Airflow puts the
plugins folder on ``sys.path`` in every process.

The analyst's view (Airflow 3.1+ plugin interfaces, see docs/ui.md):

* ``fastapi_apps``: ``genai_airflow.ui.app`` mounted by the API server at ``/genai``, under its auth;
* ``external_views``: "Reports" and "Models" in the UI's left navigation (``nav_top_level``, Airflow
  3.2+; older UIs list them under "Plugins"), each page embedded in the UI (``url_route``:
  ``/plugin/genai-reports``, ``/plugin/genai-models``);
* ``global_operator_extra_links``: "Report" on a run's final task, to the report that run wrote.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from genai_airflow.gpu.links import GPUDashboardLink, GPUPoolLink
from genai_airflow.ui.links import RunReportLink

_PREFIX = RunReportLink.url_prefix


def _fastapi_apps() -> list[dict]:
    # Imported here, not at module level: every Airflow process loads plugins (workers, the
    # scheduler), and only the API server needs the app and its FastAPI routes.
    from genai_airflow.ui.app import app

    return [{"app": app, "url_prefix": _PREFIX, "name": "GenAI reports and models"}]


class GenAIPlugin(AirflowPlugin):
    name = "genai_plugin"
    operator_extra_links = [GPUPoolLink(), GPUDashboardLink()]
    global_operator_extra_links = [RunReportLink()]
    external_views = [
        {"name": "Reports", "href": f"{_PREFIX}/reports", "destination": "nav", "url_route": "genai-reports",
         "nav_top_level": True, "icon": f"{_PREFIX}/icons/reports.svg"},
        {"name": "Models", "href": f"{_PREFIX}/models", "destination": "nav", "url_route": "genai-models",
         "nav_top_level": True, "icon": f"{_PREFIX}/icons/models.svg"},
    ]

    @property
    def fastapi_apps(self) -> list[dict]:  # type: ignore[override]
        return _fastapi_apps()
