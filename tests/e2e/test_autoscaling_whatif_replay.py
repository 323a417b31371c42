"""End to end: the daily what-if replay writes the day's report from the recorded trace, once."""

from __future__ import annotations

import json

import pendulum
import pytest

from tests.e2e.sentiment_fixtures import task_states

pytestmark = pytest.mark.usefixtures("airflow_db")

DAY = pendulum.datetime(2026, 11, 22, 23, 50, tz="UTC")  # the schedule's slot: 23:50 UTC


def test_whatif_replay_writes_the_days_report_once(dagbag, lake):
    from include.demo.writers import write_metric_trace

    dag = dagbag.get_dag("autoscaling_whatif_replay")
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("50 23 * * *", "UTC")

    none = dag.test(logical_date=DAY.subtract(days=1))  # no trace recorded that day: skipped, not failed
    assert none.state == "success" and task_states(dag.dag_id, none.run_id)["replay"] == "skipped"

    write_metric_trace(DAY.date(), hours=24)
    run = dag.test(logical_date=DAY)
    assert run.state == "success" and task_states(dag.dag_id, run.run_id)["replay"] == "success"
    report = lake / "lake" / "reports" / "scaling" / DAY.date().isoformat()
    assert (report / "what-if.png").stat().st_size > 10_000
    md = (report / "what-if.md").read_text()
    assert "| cost ($) |" in md and "| `max_replicas` | 8 |" in md  # the one set of policy defaults
    summary = json.loads((report / "summary.json").read_text())
    assert summary["steps"] == 96 and summary["policy"]["max_replicas"] <= 6  # $8/h ceiling at $1.2/replica-h

    again = dag.test(logical_date=DAY.add(minutes=1))
    assert task_states(dag.dag_id, again.run_id)["replay"] == "skipped"  # report exists (overwrite=false)
