"""Customer sentiment analysis: validate, clean, classify (transformers or a hosted LLM), report.

Modules, in pipeline order:

* ``validate``  — JSONL lines → valid records + quarantined lines with file, line number and reason.
* ``clean``     — text normalization, duplicate removal, empty/over-long flags, chunking for mapping.
* ``training``  — the offline champion: fine-tune a local MiniLM on a labeled set, evaluate, save.
* ``inference`` — batched, length-sorted transformers inference (fp32 or dynamic int8).
* ``llm``       — the hosted-LLM backend's prompt and structured output (called through common-ai's ``PydanticAIHook``).
* ``report``    — the ``sentiment_daily_report`` SQL and the Markdown + PNG artifact.
* ``bigquery``  — the GCS → BigQuery load used when the warehouse connection is BigQuery.
* ``modeling``  — where a model comes from (registry alias, the PyPI MiniLM, or a Hub id), threads, device.
* ``pipeline``  — the DAG's steps: each reads/writes the lake and the warehouse, keyed for idempotent reruns.
"""

LABELS = ("negative", "neutral", "positive")
MODEL_NAME = "sentiment"
CHAMPION_REF = f"{MODEL_NAME}@champion"
