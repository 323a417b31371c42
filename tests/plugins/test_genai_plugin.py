"""The project's plugin (plugins/genai_plugin.py): registered once, its links served, package files not loaded twice."""

from __future__ import annotations

import airflow  # noqa: F401 - puts the plugins folder on sys.path


def test_plugin_registers_the_gpu_links_and_ignores_the_package_files():
    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()
    names = {p["name"] for p in plugins_manager.get_plugin_info()}
    assert "genai_plugin" in names
    links = {type(link).__name__ for link in plugins_manager.get_operator_extra_links()}
    assert {"GPUPoolLink", "GPUDashboardLink"} <= links
    # plugins/.airflowignore keeps genai_airflow/**/*.py from being loaded a second time as top-level modules.
    assert not [f for f in plugins_manager.get_import_errors() if "/genai_airflow/" in f]
    import sys
    from pathlib import Path

    plugins = Path(__file__).resolve().parents[2] / "plugins"
    doubles = [name for name, mod in list(sys.modules.items())
               if "." not in name and (getattr(mod, "__file__", None) or "").startswith(str(plugins) + "/")
               and Path(mod.__file__).parent != plugins and Path(mod.__file__).name != "__init__.py"]
    assert not doubles, f"plugin package files loaded as top-level modules: {doubles}"


def test_links_render(monkeypatch):
    from genai_airflow.gpu.links import GPUDashboardLink, GPUPoolLink
    from genai_airflow.gpu.operators import GPUJobOperator

    op = GPUJobOperator(task_id="j", python_callable=print)
    assert GPUPoolLink().get_link(op, ti_key=None).endswith("/pools")
    assert GPUDashboardLink().get_link(op, ti_key=None) == ""  # no dashboard configured: hidden
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_GPU_DASHBOARD_URL", "https://grafana.example/d/dcgm?var-Hostname={hostname}&var-gpu={gpus}")
    assert GPUDashboardLink().get_link(op, ti_key=None) == "https://grafana.example/d/dcgm?var-Hostname=&var-gpu="
