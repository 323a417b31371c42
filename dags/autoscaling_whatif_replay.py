"""
### Autoscaling what-if replay: the day's metrics trace through the policy, before trusting it with capacity

None of the anchors (HPA, KEDA, Ray) offers a dry run over history. Every day at 23:50 UTC this DAG
replays the day's recorded metrics trace (`raw/metrics/trace-<date>.parquet`, one row per 15
minutes; `seed_demo_data` writes a demo one) twice: the replica count recorded in the trace
(baseline) and `include/scaling/policy.decide` step by step with the form's policy, its own
decisions feeding back. A simple queue model (each replica completes `throughput_per_replica` tasks
per step, the rest waits) turns both into backlog, queue wait and cost.

Output under `reports/scaling/<date>/`: `what-if.png` (replicas, backlog, cumulative cost),
`what-if.md` (the comparison table and the policy used), `what-if.csv`, `summary.json`. A day
without a trace, or with a report already written (`overwrite=false`), is skipped, not failed.
It used to run inside the 15-minute monitor; a daily replay belongs to its own cadence.
Docs: `docs/autoscaling_whatif_replay.md`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from include.platform import assets
from include.platform.notify import task_failure_alert
from include.scaling.config import WhatIfConfig


@dag(
    dag_id="autoscaling_whatif_replay",
    dag_display_name="Autoscaling what-if replay (daily)",
    description="Daily 23:50 UTC: replay the day's metrics trace through the autoscaling policy vs the recorded "
                "replicas; chart and report backlog, queue wait and cost.",
    doc_md=__doc__,
    schedule="50 23 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["scaling", "reports"],
    params=WhatIfConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "ml-platform", "retries": 2, "retry_delay": pendulum.duration(minutes=1)},
)
def autoscaling_whatif_replay():
    @task(multiple_outputs=False, inlets=[assets.METRIC_TRACES])
    def replay(params=None, **context) -> dict:
        from include.platform.runtime import run_date
        from include.scaling.whatif import replay_day

        return replay_day(WhatIfConfig.from_params(params), run_date(context))

    replay()


autoscaling_whatif_replay()
