"""
### Canary deploy: serve the challenger beside the champion, shift traffic in steps, promote or roll back

A new model version is never switched on for everyone at once. This DAG serves **exactly the version
its `challenger_registered` event names** (a manual run: `<model_name>@challenger`) next to the
`champion`, routes **10%** of replayed traffic to it, and compares **error rate, latency and accuracy
on labelled requests** with the champion over the same window before raising its share
(**10 → 25 → 50 → 100%**). Errors above **5%**, clearly slower, or significantly less accurate: traffic
goes straight back to the champion and the challenger is `rolled_back`; passing every step, it is
**promoted** (the canary decides promotion, not the trainer). Models load by serving kind
(`hashed_logreg` demo, `churn_hgb` churn trees fed feature rows, `hf_text` transformers, `textgen`
llm_fine_tuning's text generators: the day's prompts replayed, each answer graded by text_generation's
quality gate under the champion, so "accuracy" is the gate's pass rate per arm).

| task | what it does |
|---|---|
| `plan` | the event's model/version (else the aliases; bootstraps `canary_demo` on a fresh lake) vs `@champion`, their serving kinds, the labelled requests to replay (feedback texts with rating labels, or a churn version's hold-out rows), the validated policy |
| `start_stack` (setup) | embedded default: starts two model servers (`/predict`, `/health`) loaded from the registry, a weighted router and a load generator replaying recorded requests; a retry first stops what an earlier try left; records host, pids and ports. With a cloud connection it only checks the endpoint |
| `rollout` | per step: set the weight, **defer** to a trigger while traffic bakes (no worker slot held), analyse the window (thresholds, z-tests on errors and accuracy, Mann-Whitney U on latency vs the champion); advance, re-bake, roll back or promote |
| `record_outcome` | through the platform lifecycle: promote (challenger → `champion`, old champion → `retired`/`previous`) or roll back (challenger → `rolled_back` with the analysis, alias cleared, one alert) |
| `write_report` | per-step metrics table, latency and error plots, decision: `reports/canary/<date>/<model>-v<n>/` |
| `stop_stack` (teardown) | always runs: stops every process the setup recorded (on the host that started them, else fails loudly), checks no process or port is left; on a cloud, sends 100% back to the champion unless promoted |

Traffic can be shifted on a cloud instead (same policy): set Variable `genai_canary_backend_conn_id`
to an `aws` (SageMaker variants or ELBv2 weighted target groups), `google_cloud_platform` (Vertex AI)
or `azure` (Azure ML) connection and describe the endpoint in `genai_canary_target`. See
docs/canary_deploy.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import TriggerRule, dag, task

from genai_airflow.canary.operators import CanaryRolloutOperator
from include.canary.config import CanaryConfig
from include.platform import assets
from include.platform.notify import task_failure_alert


@dag(
    dag_id="canary_deploy",
    dag_display_name="Canary deploy: champion vs challenger",
    description="Serve the challenger an event names beside the champion, shift traffic in steps, promote or roll back.",
    doc_md=__doc__,
    schedule=[assets.CHALLENGER_REGISTERED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["models", "deployment", "canary"],
    params=CanaryConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "ml-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=10)},
)
def canary_deploy():
    @task(multiple_outputs=True)
    def plan(params=None, **context) -> dict:
        """Champion vs the version the event names, serving kinds, labelled replay; fail early on a bad policy."""
        from include.canary import steps

        return steps.plan(CanaryConfig.from_params(params), context)

    @task(multiple_outputs=False)
    def start_stack(planned: dict, params=None, **context) -> dict:
        """Embedded: start servers, router and load (stopping any stack an earlier try left); cloud: record the endpoint."""
        from include.canary import steps

        return steps.start(planned, CanaryConfig.from_params(params), context["run_id"])

    @task(multiple_outputs=False, trigger_rule=TriggerRule.ALL_DONE)
    def record_outcome(planned: dict, **context) -> dict:
        """Promote or roll back through the shared lifecycle; a crashed rollout leaves the challenger undecided."""
        from include.canary import steps

        return steps.record(planned, context["ti"].xcom_pull(task_ids="rollout"), context["run_id"], context)

    @task(multiple_outputs=False, trigger_rule=TriggerRule.ALL_DONE)
    def write_report(planned: dict, recorded: dict | None = None, **context) -> dict:
        from include.canary import steps

        return steps.report(planned, recorded, context["ti"].xcom_pull(task_ids="rollout"))

    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def stop_stack(stack: dict, planned: dict, **context) -> dict:
        """Teardown whatever the rollout did: stop the stack (same host only) or send cloud traffic back to
        the champion unless promoted; fail loudly if anything is left; report the serving compute."""
        from include.canary import steps

        return steps.stop(stack, planned, context["ti"].xcom_pull(task_ids="rollout"), context)

    planned = plan()
    stack = start_stack(planned)
    rollout = CanaryRolloutOperator(task_id="rollout", stack=stack, report_uri=planned["report_uri"],
                                    policy=planned["policy"])
    recorded = record_outcome(planned)
    report = write_report(planned, recorded)
    teardown_task = stop_stack(stack, planned)

    rollout >> recorded >> report >> teardown_task.as_teardown(setups=stack, on_failure_fail_dagrun=True)


canary_deploy()
