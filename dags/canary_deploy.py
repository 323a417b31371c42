"""
### Canary deploy: serve the challenger beside the champion, shift traffic in steps, promote or roll back

A new model version is never switched on for everyone at once. This DAG deploys the registry's
`challenger` next to the `champion`, routes **10%** of live traffic to it, watches its **error rate
and latency** against the champion over the same window, and only then raises its share
(**10 → 25 → 50 → 100%**). If the challenger fails **more than 5%** of requests, or is clearly slower,
traffic goes straight back to the champion and the challenger is marked `rolled_back` with the
analysis; if it passes every step it is **promoted** (registry alias swap) and serves 100%.

| task | what it does |
|---|---|
| `plan` | resolves `<model>@champion` and `<model>@challenger` (bootstraps the `canary_demo` family on a fresh lake), records the requests to replay, validates the policy |
| `start_stack` (setup) | embedded default: starts two model servers (`/predict`, `/health`) loaded from the registry, a weighted router and a load generator replaying recorded requests; a retry first stops what an earlier try left; records host, pids and ports. With a cloud connection it only checks the endpoint |
| `rollout` | per step: set the weight, **defer** to a trigger while traffic bakes (no worker slot held), analyse the window (thresholds + two-proportion z-test on errors + Mann-Whitney U on latency vs the champion); advance, re-bake, roll back or promote |
| `record_outcome` | through the platform lifecycle: promote (challenger → `champion`, old champion → `retired`/`previous`) or roll back (challenger → `rolled_back` with the analysis, alias cleared, one alert) |
| `write_report` | per-step metrics table, latency and error plots, decision: `reports/canary/<date>/<model>-v<n>/` |
| `stop_stack` (teardown) | always runs: stops every process the setup recorded (on the host that started them, else fails loudly), checks no process or port is left; on a cloud, sends 100% back to the champion unless promoted |

Traffic can be shifted on a cloud instead (same policy): set `backend_conn_id` to an `aws`
(SageMaker variant weights or ELBv2 weighted target groups, as in the article),
`google_cloud_platform` (Vertex AI `traffic_split`) or `azure` (Azure ML online endpoint `traffic`)
connection and describe the endpoint in `target`. See docs/canary_deploy.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, TriggerRule, dag, task

from genai_airflow.canary.operators import CanaryRolloutOperator
from include.platform import assets
from include.platform.notify import task_failure_alert

PARAMS = {
    "model_name": Param("canary_demo", type="string",
                        description="Registry model whose @challenger is canaried against its @champion."),
    "bootstrap_demo": Param(True, type="boolean",
                            description="For model canary_demo: train and register small demo versions when "
                                        "the champion or challenger alias is missing."),
    "steps": Param([10, 25, 50, 100], type="array", items={"type": "integer", "minimum": 1, "maximum": 100},
                   description="Challenger traffic share (%) at each step, strictly increasing."),
    "bake_seconds": Param(60, type="number", minimum=0,
                          description="Minimum seconds of traffic per step before it is analysed."),
    "min_requests": Param(100, type="integer", minimum=1,
                          description="Minimum challenger (and champion) requests a step needs; fewer = no data "
                                      "= the step fails safe."),
    "max_step_seconds": Param(600, type="number", minimum=1,
                              description="Longest a step waits for min_requests before it is inconclusive."),
    "max_error_rate": Param(0.05, type="number", exclusiveMinimum=0, exclusiveMaximum=1,
                            description="Challenger error-rate ceiling per step (0.05 = 5%)."),
    "max_p95_latency_ms": Param(500, type="number", exclusiveMinimum=0,
                                description="Challenger p95 latency ceiling per step, in milliseconds."),
    "max_latency_ratio": Param(1.5, type="number", minimum=1,
                               description="Challenger p95 may be at most this multiple of the champion's p95 "
                                           "(when significantly slower, Mann-Whitney U)."),
    "min_latency_delta_ms": Param(10, type="number", minimum=0,
                                  description="...and at most this many ms slower, so jitter never fails a step."),
    "alpha": Param(0.01, type="number", exclusiveMinimum=0, exclusiveMaximum=0.5,
                   description="Significance level of the one-sided z-test (errors) and Mann-Whitney U (latency)."),
    "failure_limit": Param(0, type="integer", minimum=0,
                           description="Failed or inconclusive analyses tolerated (each re-bakes the step) "
                                       "before rolling back."),
    "early_abort": Param(True, type="boolean",
                         description="End a bake early once the challenger's errors are significantly above "
                                     "max_error_rate (exact binomial test), instead of baking the full time."),
    "load_rps": Param(50, type="number", exclusiveMinimum=0,
                      description="Embedded backend: requests per second the load generator replays."),
    "load_concurrency": Param(4, type="integer", minimum=1, maximum=64,
                              description="Embedded backend: parallel connections of the load generator."),
    "recorded_requests": Param(2000, type="integer", minimum=10,
                               description="How many recorded requests to replay (cycled)."),
    "challenger_error_rate": Param(0.0, type="number", minimum=0, maximum=1,
                                   description="Fault drill: share of challenger predictions answered with HTTP "
                                               "500 (embedded backend; env GENAI_CANARY_ERROR_RATE also works)."),
    "challenger_added_latency_ms": Param(0.0, type="number", minimum=0,
                                         description="Fault drill: milliseconds added to every challenger "
                                                     "prediction (env GENAI_CANARY_ADDED_LATENCY_MS also works)."),
    "backend_conn_id": Param("", type="string",
                             description="Empty = embedded local servers. Else an aws, google_cloud_platform or "
                                         "azure connection id whose endpoint is shifted instead."),
    "target": Param({}, type="object",
                    description="Cloud endpoint description, e.g. {\"endpoint_name\": \"sentiment\", "
                                "\"champion_variant\": \"blue\", \"challenger_variant\": \"green\"}; see docs."),
}


@dag(
    dag_id="canary_deploy",
    dag_display_name="Canary deploy: champion vs challenger",
    description="Serve the challenger beside the champion, shift traffic in steps, promote or roll back.",
    doc_md=__doc__,
    schedule=[assets.CHALLENGER_REGISTERED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["models", "deployment", "canary"],
    params=PARAMS,
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "ml-platform", "retries": 2, "retry_delay": pendulum.duration(seconds=10)},
)
def canary_deploy():
    @task(multiple_outputs=True)
    def plan(params=None, **context) -> dict:
        """Pick champion and challenger, record the requests to replay, fail early on a bad policy."""
        from include.canary.candidates import record_requests, resolve_pair
        from include.canary.policy import CanaryPolicy
        from include.platform import storage
        from include.platform.runtime import run_date

        policy = CanaryPolicy.from_params(params)
        name = params["model_name"]
        for events in (context.get("triggering_asset_events") or {}).values():
            for event in events:  # an asset-triggered run canaries the model the event names
                name = (event.extra or {}).get("model", name)
        pair = resolve_pair(name, bootstrap_demo=params["bootstrap_demo"])
        day = run_date(context)
        report = storage.lake_path("reports", "canary", day.isoformat(), f"{pair['model']}-v{pair['challenger']}")
        requests_uri = None if params["backend_conn_id"] else record_requests(day, params["recorded_requests"])
        return pair | {"report_uri": str(report), "requests_uri": requests_uri, "day": day.isoformat(),
                       "policy": policy.to_dict()}

    @task(multiple_outputs=False)
    def start_stack(planned: dict, params=None, **context) -> dict:
        """Embedded backend: start servers, router and load (stopping any stack an earlier try left);
        record host, pids and ports for the teardown. Cloud: record the endpoint and its weights."""
        from include.canary import lifecycle

        return lifecycle.start(planned, params, context["run_id"])

    @task(multiple_outputs=False, trigger_rule=TriggerRule.ALL_DONE)
    def record_outcome(planned: dict, **context) -> dict:
        """Promote or roll back through the platform lifecycle; a crashed rollout leaves the challenger undecided."""
        from include.canary.outcome import record_outcome as record

        return record(planned, context["ti"].xcom_pull(task_ids="rollout"), context["run_id"], context)

    @task(multiple_outputs=False, trigger_rule=TriggerRule.ALL_DONE)
    def write_report(planned: dict, recorded: dict | None = None, **context) -> dict:
        from include.canary.report import write_report as build

        outcome = context["ti"].xcom_pull(task_ids="rollout")
        return build(planned["report_uri"], model=planned["model"], champion_version=planned["champion"],
                     challenger_version=planned["challenger"], outcome=outcome,
                     registry_action=(recorded or {}).get("action", "not recorded"), when=planned["day"])

    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def stop_stack(stack: dict, planned: dict, params=None, **context) -> dict:
        """Teardown from the setup's record: stop the stack (same host only) or send cloud traffic back
        to the champion unless promoted; fail loudly if anything is left. The teardown runs whatever the
        rollout did, so it is the task that reports the serving compute (compute_spent)."""
        from include.canary import lifecycle
        from include.platform import compute

        stopped = lifecycle.stop(stack, planned["report_uri"], context["ti"].xcom_pull(task_ids="rollout"), params)
        compute.emit(context, assets.COMPUTE_SPENT, backend="cloud" if params["backend_conn_id"] else "embedded",
                     model=planned["model"], challenger=planned["challenger"])
        return stopped

    planned = plan()
    stack = start_stack(planned)
    rollout = CanaryRolloutOperator(task_id="rollout", stack=stack, report_uri=planned["report_uri"])
    recorded = record_outcome(planned)
    report = write_report(planned, recorded)
    teardown_task = stop_stack(stack, planned)

    rollout >> recorded >> report >> teardown_task.as_teardown(setups=stack, on_failure_fail_dagrun=True)


canary_deploy()
