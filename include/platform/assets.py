"""Asset definitions shared between DAGs (producer and consumer import the same object).

Names are stable identifiers; URIs name the lake location they stand for, independent of which
cloud the lake lives on (so switching the lake does not orphan asset events).
"""

from __future__ import annotations

from airflow.sdk import Asset

RAW_FEEDBACK = Asset(name="raw_feedback", uri="genai://lake/raw/feedback", group="sentiment")
SENTIMENT_RESULTS = Asset(name="sentiment_results", uri="genai://warehouse/sentiment_results", group="sentiment")
SENTIMENT_MODEL = Asset(name="sentiment_model", uri="genai://lake/models/sentiment", group="models")

CUSTOMER_TABLE = Asset(name="customer_table", uri="genai://lake/raw/customers", group="synthetic")
SYNTHETIC_DATASET = Asset(name="synthetic_dataset", uri="genai://lake/curated/synthetic", group="synthetic")

FEATURE_BATCH = Asset(name="feature_batch", uri="genai://lake/raw/features", group="retraining")
CHALLENGER_REGISTERED = Asset(name="challenger_registered", uri="genai://lake/models/challenger", group="models")

COST_EXPORTS = Asset(name="cost_exports", uri="genai://lake/raw/costs", group="costs")
COMPUTE_SPENT = Asset(name="compute_spent", uri="genai://events/compute_spent", group="costs")

METRIC_TRACES = Asset(name="metric_traces", uri="genai://lake/raw/metrics", group="scaling")

#: What ``seed_demo_data`` produces, one per pipeline input.
DEMO_INPUTS = (RAW_FEEDBACK, CUSTOMER_TABLE, FEATURE_BATCH, COST_EXPORTS, METRIC_TRACES)
