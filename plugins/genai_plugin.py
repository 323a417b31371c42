"""The project's Airflow plugin: registers the GPU operator links so the UI can show them.

Airflow 3 stores extra links per task as XCom (computed on the worker) and the API server resolves
the link classes of a serialized task through plugins; without this registration the "GPU pool" and
"GPU dashboard" buttons of ``GPUJobOperator`` would not appear. Operators, sensors and triggers need
no registration in Airflow 3: DAGs import them as ``gpu.operators`` / ``gpu.sensors`` (the plugins
folder is on ``sys.path``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from gpu.links import GPUDashboardLink, GPUPoolLink


class GenAIPlugin(AirflowPlugin):
    name = "genai_plugin"
    operator_extra_links = [GPUPoolLink(), GPUDashboardLink()]
