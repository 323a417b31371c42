"""Operator extra links for GPU tasks: buttons on the task page that answer "where did it run?".

* **GPU pool** opens the Airflow pools page, where the ``gpu`` pool's slots (resized from free GPU
  memory by ``autoscaling_monitor``) explain why a GPU task is queued.
* **GPU dashboard** opens the DCGM-exporter Grafana dashboard filtered to the host and devices the
  task ran on, when Variable ``genai_gpu_dashboard_url`` holds a URL template such as
  ``https://grafana.example.com/d/Oxed_c6Wz/nvidia-dcgm-exporter?var-Hostname={hostname}&var-gpu={gpus}``.

Airflow 3 computes links on the worker when the task finishes and stores them in XCom; the API
server shows them after finding these classes through the plugin (``plugins/genai_plugin.py``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink


def _ui_base_url() -> str:
    from airflow.sdk import conf

    return (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")


class GPUPoolLink(BaseOperatorLink):
    """The pools page of the Airflow UI (a task waiting for a GPU waits for a slot there)."""

    name = "GPU pool"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return f"{_ui_base_url()}/pools"


class GPUDashboardLink(BaseOperatorLink):
    """The DCGM dashboard for the host/devices the task used; empty (hidden) when not configured."""

    name = "GPU dashboard"
    #: XCom key under which GPUJobOperator records where it ran ({"hostname", "gpus", "mode"}).
    placement_key = "gpu_placement"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from include.platform.settings import get_setting

        template = get_setting("gpu_dashboard_url") or ""
        if not template:
            return ""
        placement = None
        try:
            from airflow.sdk.execution_time.xcom import XCom

            placement = XCom.get_value(ti_key=ti_key, key=self.placement_key)
        except Exception:  # noqa: BLE001 - no XCom (task never ran): link without placement
            placement = None
        placement = placement or {}
        return template.format(hostname=quote(str(placement.get("hostname", ""))),
                               gpus=quote(str(placement.get("gpus", ""))))
