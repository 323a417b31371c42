"""The compute_spent extra: who spent, how long the run has run, what the pipeline measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from include.platform.compute import spent_extra


def test_extra_names_the_run_its_wall_time_and_the_measured_steps():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    context = {"run_id": "manual__1", "dag_run": SimpleNamespace(dag_id="train_sentiment_model", run_id="manual__1",
                                                                 start_date=now - timedelta(seconds=90.5)),
               "ti": SimpleNamespace(task_id="train", dag_id="train_sentiment_model")}
    extra = spent_extra(context, device="cpu", steps_s={"fine_tune": 61.23456}, now=now, version="3")
    assert extra == {"dag_id": "train_sentiment_model", "run_id": "manual__1", "emitted_by": "train",
                     "run_wall_s": 90.5, "steps_s": {"fine_tune": 61.235}, "device": "cpu",
                     "at": "2026-11-22T12:00:00+00:00", "version": "3"}


def test_unknown_start_and_device_are_said_not_guessed():
    extra = spent_extra({"run_id": "r", "dag_run": SimpleNamespace(dag_id="d", run_id="r", start_date=None)})
    assert extra["run_wall_s"] is None and extra["device"] == "unreported" and extra["steps_s"] == {}
    naive = datetime(2026, 1, 1, 0, 0)  # naive = UTC by Airflow's rule
    extra = spent_extra({"dag_run": SimpleNamespace(dag_id="d", run_id="r", start_date=naive)},
                        now=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    assert extra["run_wall_s"] == 60.0
