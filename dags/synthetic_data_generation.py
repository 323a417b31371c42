"""
### Synthetic data generation: learn the customer table, generate, validate, gate, augment

Implements the article's `synthetic_data_analytics` pipeline: fit our own TVAE-style tabular VAE on
the real customer table (`raw/customers/customers.parquet`), sample a candidate set into quarantine,
validate it with Great Expectations and measure fidelity, privacy and usefulness (SDMetrics'
definitions). A **gate** then branches: `publish` (curated Parquet + dataset card, warehouse table
`customers_augmented` = real + synthetic rows, generator promoted to champion, `synthetic_dataset`
event) only when every check passes, else `reject` (failed checks recorded, the candidate's rows
quarantined with reasons, generator version rejected, one alert). `report` charts either outcome.

Why a gate: rows that do not look like the real table, or that copy real customers, must never reach
analysts. Weekly and on demand; every knob is a Param of the trigger form (fault drills last).
Steps, thresholds, measured numbers and cloud set-up: `docs/synthetic_data_generation.md`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import TriggerRule, dag, task

from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date
from include.synthetic.config import SyntheticConfig


@dag(
    dag_id="synthetic_data_generation",
    dag_display_name="Synthetic data generation (TVAE + gate)",
    description="Train a tabular VAE on the customer table, validate with GX, gate on fidelity/privacy, augment.",
    doc_md=__doc__,
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genai", "synthetic-data", "great-expectations", "pytorch"],
    params=SyntheticConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "data-science", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def synthetic_data_generation():
    @task(multiple_outputs=False, execution_timeout=pendulum.duration(hours=2))
    def train_generator(params=None, **context) -> dict:
        from include.synthetic.pipeline import train_generator as train

        return train(run_date(context), SyntheticConfig.from_params(params))

    @task(multiple_outputs=False)
    def generate(generator: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import generate as sample

        return sample(run_date(context), generator["model_ref"], SyntheticConfig.from_params(params))

    @task(multiple_outputs=False, task_display_name="Validate with Great Expectations")
    def validate_with_gx(candidate: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import validate_candidate

        return validate_candidate(run_date(context), candidate["candidate_uri"], SyntheticConfig.from_params(params))

    @task(multiple_outputs=False)
    def evaluate(candidate: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import evaluate_candidate

        return evaluate_candidate(run_date(context), candidate["candidate_uri"], SyntheticConfig.from_params(params))

    @task.branch
    def gate(metrics: dict, gx: dict, params=None, **context) -> str:
        from include.synthetic.pipeline import decide

        decision = decide(run_date(context), metrics, gx, SyntheticConfig.from_params(params))
        context["ti"].xcom_push(key="decision", value=decision)
        return "publish" if decision["publish"] else "reject"

    @task(multiple_outputs=False, outlets=[assets.SYNTHETIC_DATASET])
    def publish(generator: dict, candidate: dict, metrics: dict, gx: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import publish as publish_set

        decision = context["ti"].xcom_pull(task_ids="gate", key="decision")
        card = publish_set(run_date(context), generator, candidate, metrics, gx, decision,
                           SyntheticConfig.from_params(params), context["run_id"])
        context["outlet_events"][assets.SYNTHETIC_DATASET].extra = card  # lifecycle fields + dataset card
        return card

    @task(multiple_outputs=False)
    def reject(generator: dict, candidate: dict, metrics: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import reject as reject_set

        decision = context["ti"].xcom_pull(task_ids="gate", key="decision")
        return reject_set(run_date(context), generator, candidate, decision, metrics,
                          SyntheticConfig.from_params(params), context["run_id"], context)

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, outlets=[assets.COMPUTE_SPENT])
    def report(generator: dict, params=None, **context) -> str:
        from include.synthetic.pipeline import report as write_report

        return write_report(run_date(context), generator, SyntheticConfig.from_params(params), context)

    generator = train_generator()
    candidate = generate(generator)
    gx = validate_with_gx(candidate)
    metrics = evaluate(candidate)
    branch = gate(metrics, gx)
    published = publish(generator, candidate, metrics, gx)
    rejected = reject(generator, candidate, metrics)
    branch >> [published, rejected]
    [published, rejected] >> report(generator)


synthetic_data_generation()
