"""Asset definitions shared between DAGs (producer and consumer import the same object).

Names are stable identifiers, independent of which cloud the lake lives on (so switching the lake
does not orphan asset events); ``extra["location"]`` says where the data lives, for readers.

No URI scheme on purpose: an Asset URI with a scheme makes Airflow look up a URI normaliser, which
loads every provider's hooks on first use (about 10 s measured here) — a cost every DAG file that
imports this module would pay at parse time in a fresh process.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetWatcher

RAW_FEEDBACK = Asset(name="raw_feedback", group="sentiment", extra={"location": "lake/raw/feedback"})
SENTIMENT_RESULTS = Asset(name="sentiment_results", group="sentiment", extra={"location": "warehouse/sentiment_results"})
SENTIMENT_MODEL = Asset(name="sentiment_model", group="models", extra={"location": "lake/models/sentiment"})

CUSTOMER_TABLE = Asset(name="customer_table", group="synthetic", extra={"location": "lake/raw/customers"})
SYNTHETIC_DATASET = Asset(name="synthetic_dataset", group="synthetic", extra={"location": "lake/curated/synthetic"})

FEATURE_BATCH = Asset(name="feature_batch", group="retraining", extra={"location": "lake/raw/features"})
CHALLENGER_REGISTERED = Asset(name="challenger_registered", group="models", extra={"location": "lake/models/challenger"})

COST_EXPORTS = Asset(name="cost_exports", group="costs", extra={"location": "lake/raw/costs"})
COMPUTE_SPENT = Asset(name="compute_spent", group="costs", extra={"location": "events/compute_spent"})

METRIC_TRACES = Asset(name="metric_traces", group="scaling", extra={"location": "lake/raw/metrics"})


def watched(asset: Asset, *watchers: AssetWatcher) -> Asset:
    """``asset`` with AssetWatchers attached, for the *consumer's* schedule.

    The same name, group and extra as the shared definition (so producer and consumer still meet on
    one asset); the watchers are attached where the DAG schedules on it, because their triggers are
    plugin classes and include/ never imports plugins/.
    """
    return Asset(name=asset.name, group=asset.group, extra=dict(asset.extra), watchers=list(watchers))
