"""
### Adaptive retraining: drift → branch → Bayesian search → quality gate → champion

Retrains the demo domain's churn classifier only when its features drift, as the article's
`adaptive_genai_pipeline` does: the day's labelled batch is checked (bad rows quarantined, too
little evidence fails or alerts, never "no drift"), tested for data, label and prediction drift,
and a retrain is decided against a cool-down. A resumable scikit-optimize search registers the
best model as `churn@challenger`; a paired-bootstrap gate on a fixed hold-out then rejects it (and
may request a bounded follow-up search round: the article's loop as a new run) or passes it: by
default (`promotion=canary`) it is handed to canary_deploy via `challenger_registered`, which alone
promotes; `promotion=gate` promotes here (as does the very first model, with no champion to canary). Analytics score the batch with whichever model is champion on every path.

Triggered by the `feature_batch` asset (seed_demo_data, or a file landing under
`raw/features/<date>/` on any lake backend) and on demand. Knobs: `RetrainingConfig`
(include/retraining/config.py). Design, measurements, Params: docs/adaptive_retraining.md.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import TriggerRule, dag, task

from genai_airflow.lake.triggers import LakePrefixTrigger
from include.platform import assets
from include.platform.notify import task_failure_alert
from include.retraining.config import RetrainingConfig

DAG_ID = "adaptive_retraining"

#: A batch file landing under raw/features/ (any lake backend) is an asset event that starts this DAG;
#: polled by the triggerer every genai_lake_watch_poll_s (60 s). seed_demo_data, the other producer,
#: attaches the same watcher to its outlet: see assets.lake_watched for why it must.
FEATURE_BATCH = assets.lake_watched(assets.FEATURE_BATCH, LakePrefixTrigger)


@dag(
    dag_id=DAG_ID,
    dag_display_name="Adaptive retraining (drift → search → gate → champion)",
    description="Retrain the churn model when its features drift: Bayesian search, hold-out gate, alias swap.",
    doc_md=__doc__,
    schedule=[FEATURE_BATCH],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_consecutive_failed_dag_runs=5,
    tags=["retraining", "drift", "mlops"],
    params=RetrainingConfig.params(),
    default_args={
        "on_failure_callback": task_failure_alert,
        "owner": "ml-platform",
        "retries": 2,
        "retry_delay": pendulum.duration(seconds=30),
        "retry_exponential_backoff": 2.0,
    },
)
def adaptive_retraining():
    @task(multiple_outputs=False)
    def load_batch(params=None, **context) -> dict:
        from include.retraining import pipeline

        return pipeline.load_inputs(RetrainingConfig.from_params(params).day(context))

    @task.branch
    def check_evidence(inputs: dict, params=None, **context) -> str:
        """Enough valid rows and few enough rejects for a drift verdict? Fails at once or branches."""
        from include.retraining import pipeline

        cfg = RetrainingConfig.from_params(params)
        verdict = pipeline.assess_evidence(cfg.day(context), inputs, cfg, context["run_id"])
        context["ti"].xcom_push(key="evidence", value=verdict)
        return "detect_drift" if verdict["sufficient"] else "insufficient_evidence"

    @task
    def insufficient_evidence(**context) -> list[str]:
        """The third outcome beside retrain and skip: no verdict, an alert, nothing registered."""
        from include.retraining import pipeline

        verdict = context["ti"].xcom_pull(task_ids="check_evidence", key="evidence")
        return pipeline.send_insufficient_evidence_alert(verdict, context)

    @task(multiple_outputs=False)
    def detect_drift(inputs: dict, params=None, **context) -> dict:
        from include.retraining import pipeline

        cfg = RetrainingConfig.from_params(params)
        return pipeline.check_drift(cfg.day(context), inputs, cfg)

    @task.branch
    def decide(drift: dict, params=None, **context) -> str:
        from include.retraining import pipeline

        cfg = RetrainingConfig.from_params(params)
        decision = pipeline.decide(cfg.day(context), drift, cfg, context["run_id"])
        context["ti"].xcom_push(key="decision", value=decision)
        return "tune_challenger" if decision["retrain"] else "skip_retraining"

    @task(multiple_outputs=False, retry_delay=pendulum.duration(seconds=10))
    def tune_challenger(inputs: dict, params=None, **context) -> dict:
        from include.retraining import pipeline

        cfg = RetrainingConfig.from_params(params)
        return pipeline.tune_and_register(cfg.day(context), inputs, cfg, context["run_id"],
                                          try_number=context["ti"].try_number)

    @task.branch
    def quality_gate(inputs: dict, challenger: dict, params=None, **context) -> str:
        from include.retraining import pipeline

        cfg = RetrainingConfig.from_params(params)
        result = pipeline.evaluate_gate(cfg.day(context), inputs, challenger["version"], cfg, context["run_id"])
        context["ti"].xcom_push(key="gate", value=result)
        return pipeline.BRANCHES[result["decision"]]

    @task(multiple_outputs=False)
    def promote_challenger(**context) -> dict:
        from include.retraining import pipeline

        return pipeline.promote(context["ti"].xcom_pull(task_ids="quality_gate", key="gate"), context)

    @task(multiple_outputs=False, outlets=[assets.CHALLENGER_REGISTERED])
    def hand_to_canary(**context) -> dict:
        """promotion=canary: the challenger keeps its alias, the champion stays; canary_deploy decides."""
        from include.retraining import pipeline

        handed = pipeline.hand_over(context["ti"].xcom_pull(task_ids="quality_gate", key="gate"), context)
        context["outlet_events"][assets.CHALLENGER_REGISTERED].extra = handed["asset_extra"]
        return handed

    @task.branch
    def keep_champion(params=None, **context) -> list[str]:
        """Reject (status, reasons, one alert); follow-up round while rounds are left, and always join."""
        from include.retraining import pipeline

        gate = context["ti"].xcom_pull(task_ids="quality_gate", key="gate")
        return pipeline.reject(gate, RetrainingConfig.from_params(params), context)

    @task
    def request_follow_up_search(challenger: dict, params=None, **context) -> None:
        """Trigger the next search round as a new run of this DAG (the article's loop, bounded)."""
        from include.retraining import pipeline

        cfg = RetrainingConfig.from_params(params)
        raise pipeline.follow_up_request(cfg, cfg.day(context), challenger, context["run_id"])

    skip_retraining = EmptyOperator(task_id="skip_retraining")
    join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)

    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def analytics(inputs: dict, params=None, **context) -> dict:
        from include.platform import compute
        from include.retraining import pipeline

        result = pipeline.analytics(RetrainingConfig.from_params(params).day(context), inputs)
        decision = context["ti"].xcom_pull(task_ids="decide", key="decision") or {}
        compute.emit(context, assets.COMPUTE_SPENT, device="cpu", retrained=bool(decision.get("retrain")))
        return result

    inputs = load_batch()
    evidence = check_evidence(inputs)
    drift = detect_drift(inputs)
    evidence >> [drift, insufficient_evidence()]
    branch = decide(drift)
    challenger = tune_challenger(inputs)
    gate = quality_gate(inputs, challenger)
    promoted = promote_challenger()
    handed = hand_to_canary()
    kept = keep_champion()
    follow_up = request_follow_up_search(challenger)

    branch >> [challenger, skip_retraining]
    gate >> [promoted, handed, kept]
    kept >> follow_up
    [skip_retraining, promoted, handed, kept, follow_up] >> join >> analytics(inputs)


adaptive_retraining()
