"""GPU admission: pool slots from free GPU memory / per-task footprint, and the plugin's registration."""

from __future__ import annotations

import airflow  # noqa: F401 - puts the plugins folder on sys.path
import pytest

from gpu import admission, nvml


def test_slots_per_device_do_not_span_gpus():
    # 2 x 20 GiB free, 8 GiB tasks, 512 MiB headroom: floor(19968/8192) = 2 per device.
    slots, per_gpu, reason = admission.gpu_pool_slots([20480, 20480], 8192)
    assert (slots, per_gpu) == (4, (2, 2))
    assert "footprint 8192 MiB" in reason
    # 12 GiB + 4 GiB free does not fit two 8 GiB tasks even though the sum is 16 GiB.
    assert admission.gpu_pool_slots([12288, 4096], 8192)[0] == 1


def test_running_tasks_keep_their_slots_and_cap():
    assert admission.gpu_pool_slots([20480], 8192, running_tasks=3)[0] == 5
    slots, _, reason = admission.gpu_pool_slots([81920] * 8, 4096, max_slots=16)
    assert slots == 16 and "capped" in reason
    with pytest.raises(ValueError):
        admission.gpu_pool_slots([1000], 0)


def test_no_gpu_keeps_cpu_fallback_slots():
    snap = nvml.probe()
    if snap.available:  # pragma: no cover
        pytest.skip("GPU present")
    decision = admission.decide(snap, "gpu", 8192, no_gpu_slots=1)
    assert decision.slots == 1 and "no GPU visible" in decision.reason and "NVML" in decision.reason


def test_plugin_registers_the_gpu_links_and_ignores_the_package_files():
    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()
    names = {p["name"] for p in plugins_manager.get_plugin_info()}
    assert "genai_plugin" in names
    links = {type(link).__name__ for link in plugins_manager.get_operator_extra_links()}
    assert {"GPUPoolLink", "GPUDashboardLink"} <= links
    # plugins/.airflowignore keeps gpu/*.py from being loaded a second time as top-level modules.
    assert not [f for f in plugins_manager.get_import_errors() if "/gpu/" in f]
    import sys
    from pathlib import Path

    plugins = Path(__file__).resolve().parents[2] / "plugins"
    doubles = [name for name, mod in list(sys.modules.items())
               if "." not in name and (getattr(mod, "__file__", None) or "").startswith(str(plugins) + "/")
               and Path(mod.__file__).parent != plugins and Path(mod.__file__).name != "__init__.py"]
    assert not doubles, f"plugin package files loaded as top-level modules: {doubles}"


def test_links_render(monkeypatch):
    from gpu.links import GPUDashboardLink, GPUPoolLink
    from gpu.operators import GPUJobOperator

    op = GPUJobOperator(task_id="j", python_callable=print)
    assert GPUPoolLink().get_link(op, ti_key=None).endswith("/pools")
    assert GPUDashboardLink().get_link(op, ti_key=None) == ""  # no dashboard configured: hidden
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_GPU_DASHBOARD_URL", "https://grafana.example/d/dcgm?var-Hostname={hostname}&var-gpu={gpus}")
    assert GPUDashboardLink().get_link(op, ti_key=None) == "https://grafana.example/d/dcgm?var-Hostname=&var-gpu="
