"""Customer sentiment analysis: validate, clean, classify (transformers or a hosted LLM), report.

Modules, in pipeline order:

* ``config``    — the typed configs of the two DAGs (``SentimentConfig``, ``TrainingConfig``): every Param's home.
* ``steps``     — one function per DAG task, taking the typed config (the DAG files stay thin).
* ``validate``  — JSONL lines → valid records + quarantined lines with file, line number and reason.
* ``clean``     — text normalization, duplicate removal, empty/over-long flags, chunking for mapping.
* ``labeled_set`` — the generated template set (the demo export's language, template-disjoint split): imported by include/demo.
* ``corpus``    — the shipped real corpus (``datasets/``): human-labelled training text and the cross-domain test set.
* ``evaluation`` — honest metrics: a model and the VADER lexicon on the same cross-domain test texts.
* ``training``  — the offline champion: real corpus (+ supplement) / CSV, fine-tune a local MiniLM, evaluate, gate.
* ``inference`` — batched, length-sorted transformers inference (fp32 or dynamic int8).
* ``llm``       — the hosted-LLM backend's prompt and structured output (called through common-ai's ``PydanticAIHook``).
* ``report``    — the ``sentiment_daily_report`` SQL and the Markdown + PNG artifact.
* ``bigquery``  — the GCS → BigQuery load used when the warehouse connection is BigQuery.
* ``modeling``  — where a model comes from (registry alias, the PyPI MiniLM, or a Hub id), threads, device.
* ``pipeline``  — the scoring run's lake and warehouse I/O, keyed for idempotent reruns.
"""

LABELS = ("negative", "neutral", "positive")
MODEL_NAME = "sentiment"
CHAMPION_REF = f"{MODEL_NAME}@champion"
