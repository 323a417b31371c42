"""``resume_plan``: what a (retried) sagemaker_train attempt does, from the jobs its run already has.

The job name is the run's, not the try's, so a retry finds the job its earlier try created: it re-attaches
to a live one, takes a completed one's result, and creates a next job only after one ended.
"""

from __future__ import annotations

import pytest

from include.llm import cloud
from include.platform.errors import ConfigError

BASE = cloud.job_name("manual__2026-12-04T00:00:00+00:00")


def _describer(jobs: dict[str, str]):
    return lambda name: ({"TrainingJobName": name, "TrainingJobStatus": jobs[name], "FailureReason": "OOM"}
                         if name in jobs else None)


def test_the_job_name_is_the_runs_and_the_same_on_every_try():
    assert BASE == cloud.job_name("manual__2026-12-04T00:00:00+00:00") != cloud.job_name("other")
    assert cloud.attempt_job_name(BASE, 1) == BASE and cloud.attempt_job_name(BASE, 2) == f"{BASE}-r2"


@pytest.mark.parametrize(("jobs", "expected"), [
    ({}, {"action": "create", "name": BASE, "previous": None}),
    ({BASE: "InProgress"}, {"action": "attach", "name": BASE, "status": "InProgress"}),
    ({BASE: "Stopping"}, {"action": "attach", "name": BASE, "status": "Stopping"}),
    ({BASE: "Completed"}, {"action": "done", "name": BASE, "status": "Completed"}),
    ({BASE: "Failed"}, {"action": "create", "name": f"{BASE}-r2",
                        "previous": {"name": BASE, "status": "Failed", "reason": "OOM"}}),
    ({BASE: "Failed", f"{BASE}-r2": "InProgress"}, {"action": "attach", "name": f"{BASE}-r2", "status": "InProgress"}),
    ({BASE: "Stopped", f"{BASE}-r2": "Failed"}, {"action": "create", "name": f"{BASE}-r3",
                                                 "previous": {"name": f"{BASE}-r2", "status": "Failed", "reason": "OOM"}}),
])
def test_resume_plan(jobs, expected):
    assert cloud.resume_plan(BASE, _describer(jobs)) == expected


def test_every_attempt_failed_is_a_config_error_not_an_endless_series_of_jobs():
    jobs = {cloud.attempt_job_name(BASE, n): "Failed" for n in range(1, cloud.MAX_JOB_ATTEMPTS + 1)}
    with pytest.raises(ConfigError, match="all failed"):
        cloud.resume_plan(BASE, _describer(jobs))
