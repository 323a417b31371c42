"""
### Synthetic data generation: learn the customer table, generate, validate, gate, augment

Implements the article's `synthetic_data_analytics` pipeline — *learn from the original data,
generate samples with a variational autoencoder, validate their quality, combine them with the
original set and update the analytics database* — with the Great Expectations validation step of
its data-quality section, and with a **gate**: nothing reaches analysts unless fidelity, privacy and
usefulness pass their thresholds.

| step | task | what happens |
|---|---|---|
| 1 | `train_generator` | Fit our own TVAE-style tabular VAE (PyTorch; mode-specific normalization with a Bayesian Gaussian mixture per continuous column, one-hot categories) on 80 % of `raw/customers/customers.parquet`; register it (safetensors + JSON config) as `synthetic_customers_tvae`. Seeded; CPU by default, the GPU when one is visible. |
| 2 | `generate` | Load the registered version (sha256-verified) and sample `rows_to_generate` rows into `quarantine/synthetic/<date>/candidate.parquet`. |
| 3 | `validate_with_gx` | Great Expectations Core 1.x on an ephemeral context: a suite derived from the real table (columns, types, ranges, categories, null rates, unique ids). Result JSON stored in `reports/synthetic/<date>/gx_result.json`. |
| 4 | `evaluate` | SDMetrics-definition metrics: KS/TV complement, correlation and contingency similarity, overall quality; DCR baseline and overfitting protection, exact-copy rate; TSTR vs TRTR ROC AUC on the real hold-out. |
| 5 | `gate` | Branch: `publish` when GX passed and every metric meets its Param threshold, else `reject`. |
| 6a | `publish` | `curated/synthetic/<date>/` (parquet + dataset card), warehouse table `customers_augmented` = real + synthetic rows (replace by `customer_id`, idempotent), model promoted to `@champion`, Asset event `synthetic_dataset` carrying the card. |
| 6b | `reject` | Publishes nothing; failed checks with reasons in `reports/.../rejection.json` and beside the candidate in quarantine; model version marked `rejected`; alert sent. |
| 7 | `report` | `reports/synthetic/<date>/report.md` with real-vs-synthetic marginals, correlation matrices side by side and the metric table. |

Runs weekly and on demand; every Param below can be changed in the trigger form. See
`docs/synthetic_data_generation.md` for thresholds, measured numbers and how to run it on a cloud.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, TriggerRule, dag, task

from include.platform import assets
from include.platform.notify import task_failure_alert
from include.platform.runtime import run_date

PARAMS = {
    "rows_to_generate": Param(5_000, type="integer", minimum=10, maximum=5_000_000,
                              description="Synthetic rows to generate and add to the augmented table."),
    "epochs": Param(100, type="integer", minimum=1, maximum=2_000,
                    description="TVAE training epochs (quality and training time grow with it; measured numbers in the docs)."),
    "batch_size": Param(500, type="integer", minimum=8, maximum=100_000, description="Training batch size."),
    "embedding_dim": Param(128, type="integer", minimum=4, maximum=1_024, description="Size of the VAE latent space."),
    "seed": Param(42, type="integer", description="Seed of the split, the model and the sample: same seed, same rows (on CPU)."),
    "device": Param("auto", type="string", enum=["auto", "cpu", "cuda"],
                    description="Where to train: auto = the GPU when one is visible, else CPU."),
    "threads": Param(1, type="integer", minimum=1, maximum=64,
                     description="CPU threads for PyTorch (one is fastest for this small network on a shared box)."),
    "source_path": Param("raw/customers/customers.parquet", type="string",
                         pattern=r"^raw/([A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.parquet$",
                         description="The real table: a Parquet file in the lake's raw zone (raw/<folder>/<file>"
                                     ".parquet); needs a customer_id column. Other zones, '..' and absolute "
                                     "paths are refused."),
    "holdout_share": Param(0.2, type="number", minimum=0.05, maximum=0.5,
                           description="Share of real rows kept away from the generator for TSTR and overfitting checks."),
    "max_training_rows": Param(200_000, type="integer", minimum=100,
                               description="Cap on real rows used (seeded sample) to bound training time."),
    "target_column": Param("churned", type=["string", "null"],
                           description="Label for the TSTR/TRTR usefulness check (empty to skip it)."),
    "dcr_rows": Param(1_000, type="integer", minimum=50, maximum=20_000,
                      description="Synthetic rows compared in the distance-to-closest-record checks."),
    "gx_null_tolerance": Param(0.02, type="number", minimum=0, maximum=1,
                               description="Allowed excess null rate per column over the real table in the GX suite."),
    "min_quality": Param(0.80, type="number", minimum=0, maximum=1,
                         description="Gate: minimum overall quality (mean of column shapes and pair trends)."),
    "min_dcr_protection_vs_holdout": Param(0.80, type="number", minimum=0, maximum=2,
                                           description="Gate: DCR baseline protection must reach this share of what real hold-out rows score."),
    "min_dcr_overfitting_protection": Param(0.70, type="number", minimum=0, maximum=1,
                                            description="Gate: minimum DCR overfitting protection (closer to training than to hold-out)."),
    "max_exact_copy_rate": Param(0.01, type="number", minimum=0, maximum=1,
                                 description="Gate: maximum share of synthetic rows identical to a real row."),
    "min_tstr_ratio": Param(0.80, type="number", minimum=0, maximum=10,
                            description="Gate: minimum ROC AUC trained-on-synthetic / trained-on-real, on the real hold-out."),
    "augmented_table": Param("customers_augmented", type="string", pattern="^[A-Za-z_][A-Za-z0-9_]*$",
                             description="Warehouse table that receives real + synthetic rows on publish."),
}


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
    params=PARAMS,
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "data-science", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def synthetic_data_generation():
    @task(multiple_outputs=False, execution_timeout=pendulum.duration(hours=2))
    def train_generator(params=None, **context) -> dict:
        from include.synthetic.pipeline import train_generator as train

        return train(run_date(context), params)

    @task(multiple_outputs=False)
    def generate(generator: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import generate as sample

        return sample(run_date(context), generator["model_ref"], params["rows_to_generate"], params["seed"])

    @task(multiple_outputs=False, task_display_name="Validate with Great Expectations")
    def validate_with_gx(candidate: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import validate_candidate

        return validate_candidate(run_date(context), candidate["candidate_uri"], params)

    @task(multiple_outputs=False)
    def evaluate(candidate: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import evaluate_candidate

        return evaluate_candidate(run_date(context), candidate["candidate_uri"], params)

    @task.branch
    def gate(metrics: dict, gx: dict, params=None, **context) -> str:
        from include.synthetic.pipeline import decide

        decision = decide(run_date(context), metrics, gx, params)
        context["ti"].xcom_push(key="decision", value=decision)
        return "publish" if decision["publish"] else "reject"

    @task(multiple_outputs=False, outlets=[assets.SYNTHETIC_DATASET])
    def publish(generator: dict, candidate: dict, metrics: dict, gx: dict, params=None, **context) -> dict:
        from include.synthetic.pipeline import publish as publish_set

        decision = context["ti"].xcom_pull(task_ids="gate", key="decision")
        card = publish_set(run_date(context), generator, candidate, metrics, gx, decision, params,
                           context["run_id"])
        context["outlet_events"][assets.SYNTHETIC_DATASET].extra = card
        return card

    @task(multiple_outputs=False)
    def reject(generator: dict, metrics: dict, **context) -> dict:
        from include.synthetic.pipeline import reject as reject_set

        decision = context["ti"].xcom_pull(task_ids="gate", key="decision")
        # The lifecycle marks the generator version rejected (kind dataset) and sends the one alert.
        return reject_set(run_date(context), generator, decision, metrics, context["run_id"], context)

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, outlets=[assets.COMPUTE_SPENT])
    def report(generator: dict, params=None, **context) -> str:
        from include.platform import compute
        from include.synthetic.pipeline import build_report

        uri = build_report(run_date(context), generator, params)
        compute.emit(context, assets.COMPUTE_SPENT, device=generator["device"],
                     steps_s={"fit": generator["fit_seconds"]}, model=generator.get("model_ref"))
        return uri

    generator = train_generator()
    candidate = generate(generator)
    gx = validate_with_gx(candidate)
    metrics = evaluate(candidate)
    branch = gate(metrics, gx)
    published = publish(generator, candidate, metrics, gx)
    rejected = reject(generator, metrics)
    branch >> [published, rejected]
    [published, rejected] >> report(generator)


synthetic_data_generation()
