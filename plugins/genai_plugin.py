"""The project's Airflow plugin: registers the GPU operator links so the UI can show them.

Airflow 3 stores extra links per task as XCom (computed on the worker) and the API server resolves
the link classes of a serialized task through plugins; without this registration the "GPU pool" and
"GPU dashboard" buttons of ``GPUJobOperator`` would not appear. Operators, sensors and triggers need
no registration in Airflow 3: DAGs import them from the one namespaced package,
``genai_airflow.<domain>.<kind>`` (e.g. ``genai_airflow.gpu.operators``), since Airflow puts the
plugins folder on ``sys.path`` in every process.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from genai_airflow.gpu.links import GPUDashboardLink, GPUPoolLink


class GenAIPlugin(AirflowPlugin):
    name = "genai_plugin"
    operator_extra_links = [GPUPoolLink(), GPUDashboardLink()]
