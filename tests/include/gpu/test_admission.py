"""GPU admission: pool slots from free GPU memory / per-task footprint."""

from __future__ import annotations

import pytest

from include.gpu import admission, nvml


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
