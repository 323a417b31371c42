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
#: Emitted by ``llm_fine_tuning.promote`` when a version becomes ``textgen@champion`` (lifecycle extra).
TEXTGEN_MODEL = Asset(name="textgen_model", group="models", extra={"location": "lake/models/textgen"})
#: Emitted by ``text_generation.publish`` (extra: model_version, backend, published, quarantined_outputs, day).
GENERATED_TEXT = Asset(name="generated_text", group="generation", extra={"location": "warehouse/generated_text"})

CUSTOMER_TABLE = Asset(name="customer_table", group="synthetic", extra={"location": "lake/raw/customers"})
SYNTHETIC_DATASET = Asset(name="synthetic_dataset", group="synthetic", extra={"location": "lake/curated/synthetic"})

FEATURE_BATCH = Asset(name="feature_batch", group="retraining", extra={"location": "lake/raw/features"})
CHALLENGER_REGISTERED = Asset(name="challenger_registered", group="models", extra={"location": "lake/models/challenger"})

COST_EXPORTS = Asset(name="cost_exports", group="costs", extra={"location": "lake/raw/costs"})
COMPUTE_SPENT = Asset(name="compute_spent", group="costs", extra={"location": "events/compute_spent"})
#: Emitted by ``cloud_cost_report.report`` (extra: day, total, budget, forecast, anomaly, top movers, report).
COST_REPORT = Asset(name="cost_report", group="costs", extra={"location": "lake/reports/cost"})

METRIC_TRACES = Asset(name="metric_traces", group="scaling", extra={"location": "lake/raw/metrics"})
#: Inference requests waiting under raw/requests/pending (include/scaling/batches.py::write_requests).
PENDING_REQUESTS = Asset(name="pending_requests", group="scaling", extra={"location": "lake/raw/requests/pending"})

#: Documents under raw/knowledge/<source>/ (Markdown, HTML, text): ingest_knowledge_base's input.
RAW_KNOWLEDGE = Asset(name="raw_knowledge", group="rag", extra={"location": "lake/raw/knowledge"})
#: Emitted by ``ingest_knowledge_base.publish``: extra carries document/chunk counts and the embedding model.
KNOWLEDGE_BASE = Asset(name="knowledge_base", group="rag", extra={"location": "connection knowledge_base_default"})
#: Emitted by ``content_generation.publish`` (extra: day, status, published, rejected, quarantined, modes).
GENERATED_CONTENT = Asset(name="generated_content", group="rag", extra={"location": "warehouse/generated_content"})


#: Assets that a file landing in the lake produces: asset name -> (watcher name, lake zone, prefix parts).
#: The trigger class (``genai_airflow.lake.triggers.LakePrefixTrigger``) is passed in by the DAG file,
#: because include/ never imports plugins/.
LAKE_WATCHED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "feature_batch": ("feature_batch_lake_arrivals", "raw", ("features",)),
    "raw_feedback": ("raw_feedback_lake_arrivals", "raw", ("feedback",)),
    "cost_exports": ("cost_exports_lake_arrivals", "raw", ("costs",)),
    "raw_knowledge": ("raw_knowledge_lake_arrivals", "raw", ("knowledge",)),
}


def lake_watched(asset: Asset, trigger_cls: type) -> Asset:
    """``asset`` with its lake watcher (see :data:`LAKE_WATCHED`): use it in EVERY DAG file that names
    the asset, producer (outlets) and consumer (schedule) alike.

    Why every file: the dag-processor syncs an asset's watchers from each DAG file it parses that
    mentions the asset. A producer file whose outlet is the bare asset makes it delete the watcher's
    trigger, the consumer's file re-creates it, and the watcher flaps (seen on the local stack:
    "Trigger cancelled by user action" seconds after it started). tests/dags checks that all
    references to an asset carry the same watchers.
    """
    watcher_name, zone, parts = LAKE_WATCHED[asset.name]
    trigger = trigger_cls(zone=zone, parts=list(parts))
    return Asset(name=asset.name, group=asset.group, extra=dict(asset.extra),
                 watchers=[AssetWatcher(name=watcher_name, trigger=trigger)])
