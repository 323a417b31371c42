"""NVML readings on this machine (no NVIDIA driver here) and the aggregates the GPU sensor and trigger judge by."""

from __future__ import annotations

import pytest

from include.gpu import nvml
from include.gpu.utilization import condition_met, observed_value
from tests.fixtures.gpu_readings import BUSY


def test_probe_reports_no_gpu_with_the_nvml_reason():
    snap = nvml.probe()
    if snap.available:  # pragma: no cover - only on a GPU machine
        pytest.skip("this machine has a GPU; the no-GPU fallback is tested on CPU-only machines")
    assert snap.gpus == () and snap.mean_utilization() is None
    assert "NVML" in snap.reason and "LibraryNotFound" in snap.reason


def test_aggregates_and_conditions():
    assert observed_value(BUSY, "utilization", "max") == 95
    assert observed_value(BUSY, "utilization", "mean") == pytest.approx(57.5)
    assert observed_value(BUSY, "memory_used", "min") == pytest.approx(100 * 8000 / 81920)
    assert observed_value(nvml.GPUSnapshot(available=False), "utilization") is None
    assert condition_met(50, 70, "below") and not condition_met(80, 70, "below") and condition_met(80, 70, "above")
    with pytest.raises(ValueError):
        condition_met(1, 2, "sideways")
    with pytest.raises(ValueError, match="metric"):
        observed_value(BUSY, "temperature")


def test_snapshot_round_trips_through_its_json_form():
    """Trigger events carry snapshots as dicts; the sensor rebuilds them on the worker."""
    again = nvml.GPUSnapshot.from_dict(BUSY.to_dict())
    assert again == BUSY and again.max_utilization() == 95 and again.free_memory_mib() == [81920 - 70000, 81920 - 8000]
