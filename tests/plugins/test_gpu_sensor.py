"""GPUUtilizationSensor and its trigger on this machine (no NVIDIA driver) and on recorded readings.

The readings and aggregates they judge by are tested in tests/include/gpu/test_readings.py.
"""

from __future__ import annotations

import asyncio

import airflow  # noqa: F401 - importing Airflow puts the plugins folder on sys.path (as in every Airflow process)
import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred

from genai_airflow.gpu.sensors import GPUUtilizationSensor
from genai_airflow.gpu.triggers import GPUUtilizationTrigger
from include.gpu import nvml
from tests.fixtures.gpu_readings import BUSY, QUIET


def test_sensor_judges_recorded_readings():
    sensor = GPUUtilizationSensor(task_id="gpu_quiet", threshold=80, aggregate="max")
    assert not sensor._judge(BUSY).is_done
    done = sensor._judge(QUIET)
    assert done.is_done and done.xcom_value["value"] == 12 and len(done.xcom_value["gpus"]) == 2
    busy_wanted = GPUUtilizationSensor(task_id="gpu_busy", threshold=50, condition="above", aggregate="mean")
    assert busy_wanted._judge(BUSY).is_done


@pytest.mark.parametrize("deferrable", [False, True])
def test_no_gpu_proceed_succeeds_and_reports_none(deferrable):
    sensor = GPUUtilizationSensor(task_id="wait_gpu", threshold="70", no_gpu_policy="proceed",
                                  deferrable=deferrable, poke_interval=1, timeout=5)
    if nvml.probe().available:  # pragma: no cover
        pytest.skip("GPU present")
    if deferrable:
        result = sensor.execute({})
    else:
        result = sensor.poke({}).xcom_value
    assert result["gpu_available"] is False and result["policy"] == "proceed"
    assert "NVML" in result["reason"]


def test_no_gpu_fail_and_skip():
    if nvml.probe().available:  # pragma: no cover
        pytest.skip("GPU present")
    with pytest.raises(AirflowFailException, match="no_gpu_policy='proceed'"):
        GPUUtilizationSensor(task_id="f", no_gpu_policy="fail", deferrable=True).execute({})
    with pytest.raises(AirflowSkipException):
        GPUUtilizationSensor(task_id="s", no_gpu_policy="skip", deferrable=True).execute({})


def test_no_gpu_wait_defers_to_the_trigger():
    if nvml.probe().available:  # pragma: no cover
        pytest.skip("GPU present")
    sensor = GPUUtilizationSensor(task_id="w", threshold=60, no_gpu_policy="wait", deferrable=True,
                                  poke_interval=7, timeout=120)
    assert sensor.poke({}).is_done is False
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, GPUUtilizationTrigger)
    assert (trigger.threshold, trigger.poll_interval, trigger.no_gpu_policy) == (60.0, 7.0, "wait")
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout.total_seconds() == 120


def test_invalid_templated_values_fail_clearly():
    with pytest.raises(AirflowFailException, match="no_gpu_policy='maybe'"):
        GPUUtilizationSensor(task_id="bad", no_gpu_policy="maybe", deferrable=True).execute({})
    with pytest.raises(AirflowFailException, match="threshold"):
        GPUUtilizationSensor(task_id="bad2", threshold="lots", deferrable=True).execute({})


def test_trigger_serializes_to_an_importable_path():
    from airflow.sdk.module_loading import import_string

    trigger = GPUUtilizationTrigger(threshold=75, condition="below", aggregate="mean", device_indices=[0, 2],
                                    poll_interval=15, no_gpu_policy="proceed")
    classpath, kwargs = trigger.serialize()
    assert classpath == "genai_airflow.gpu.triggers.GPUUtilizationTrigger"
    rebuilt = import_string(classpath)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_trigger_run_without_gpu():
    if nvml.probe().available:  # pragma: no cover
        pytest.skip("GPU present")

    async def first_event(trigger, timeout):
        agen = trigger.run()
        try:
            return await asyncio.wait_for(agen.__anext__(), timeout)
        finally:
            await agen.aclose()

    event = asyncio.run(first_event(GPUUtilizationTrigger(threshold=70, no_gpu_policy="proceed"), 10))
    assert event.payload["status"] == "no_gpu" and "NVML" in event.payload["reason"]
    # "wait" keeps polling (asynchronously: the event loop stays free) until the sensor's timeout.
    with pytest.raises(TimeoutError):
        asyncio.run(first_event(GPUUtilizationTrigger(threshold=70, no_gpu_policy="wait", poll_interval=0.05), 0.5))


def test_execute_complete_maps_events():
    sensor = GPUUtilizationSensor(task_id="c", no_gpu_policy="proceed")
    met = sensor.execute_complete({}, {"status": "met", "value": 12.0, "polls": 3, "snapshot": QUIET.to_dict()})
    assert met["gpu_available"] is True and met["value"] == 12.0
    none = sensor.execute_complete({}, {"status": "no_gpu", "reason": "no driver"})
    assert none == {"gpu_available": False, "reason": "no driver", "policy": "proceed"}
    with pytest.raises(AirflowFailException):
        GPUUtilizationSensor(task_id="c2", no_gpu_policy="fail").execute_complete({}, {"status": "no_gpu", "reason": "x"})
