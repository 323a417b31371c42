"""The tasks of the two sentiment DAGs, one step function each: what a task does, given its typed config.

A DAG task resolves its context, builds its config (``SentimentConfig.from_params(params)`` or
``TrainingConfig.from_params(params)``) and calls one function here. The work itself lives in
:mod:`include.sentiment.pipeline` (lake and warehouse I/O of the scoring run) and
:mod:`include.sentiment.training` (fine-tune, evaluate, gate); this module decides what runs,
skips or fails, and what goes to XCom, alerts and asset events.

``customer_sentiment_analysis``: :func:`extract` → :func:`prepare` → :func:`choose_backend` →
:func:`score_chunk` | :func:`llm_classify` (mapped) → :func:`load` → :func:`report`.
``train_sentiment_model``: :func:`train` → :func:`promote`.

Import-light at module level (the heavy libraries are imported by the functions that need them).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.sentiment.config import SentimentConfig, TrainingConfig

log = logging.getLogger(__name__)

DAG_ID = "customer_sentiment_analysis"
#: The XCom key under which :func:`prepare` leaves its counts (the chunks are its return value).
SUMMARY_KEY = "summary"


# ------------------------------------------------------------------------------ customer_sentiment_analysis
def extract(cfg: SentimentConfig, day: date, context: dict[str, Any]) -> dict[str, Any]:
    """Validate the day's feedback into ``raw_feedback`` and the quarantine.

    No line at all → the run is skipped (nothing to score today). Only malformed lines → everything is
    quarantined, a warning alert goes out and the task still succeeds (the export is the problem, and
    the quarantine says where). ``cfg`` was already checked by ``from_params``: a refused model or LLM
    connection failed the task before anything was read.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from include.platform.notify import Alert, send_alert
    from include.sentiment import pipeline

    counts = pipeline.extract(day)
    if counts["lines"] == 0:
        raise AirflowSkipException(f"no feedback lines under raw/feedback/{day}/ ({counts['files']} files): "
                                   "nothing to score today")
    if counts["valid"] == 0:
        counts["warning"] = (f"all {counts['quarantined']} feedback lines of {day} are malformed; "
                             f"see {counts.get('quarantine_uri')}")
        send_alert(Alert(subject=f"{DAG_ID} {day}: every line quarantined", body=counts["warning"],
                         severity="warning"), context)
    return counts


def prepare(cfg: SentimentConfig, day: date, extracted: dict[str, Any], context: dict[str, Any]) -> list[dict]:
    """Clean the valid rows and cut the scorable ones into chunks; the chunks to map over.

    The model alias (``sentiment@champion``) is resolved once here: every chunk names the same
    version, even if a new champion is promoted mid-run. Counts go to XCom :data:`SUMMARY_KEY`.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from include.sentiment import pipeline

    if extracted["valid"] == 0:
        raise AirflowSkipException("no valid feedback to score (all lines quarantined)")
    info = pipeline.prepare(day, extracted["valid_uri"], cfg.backend, cfg.model, cfg.max_tokens, cfg.chunk_size)
    context["ti"].xcom_push(key=SUMMARY_KEY, value={k: v for k, v in info.items() if k != "chunks"})
    return info["chunks"]


def choose_backend(cfg: SentimentConfig) -> str:
    """The task id of the scoring branch this run takes."""
    return "llm_classify" if cfg.llm else "score_chunk"


def score_chunk(cfg: SentimentConfig, day: date, chunk: dict[str, Any]) -> str:
    """One chunk through the transformers classifier; the URI of its scored rows."""
    from include.sentiment import pipeline

    return pipeline.score_chunk(day, chunk, chunk["model_version"], cfg.precision, cfg.batch_size, cfg.threads,
                                cfg.device, runtime=cfg.runtime, variant=cfg.variant)


def llm_classify(cfg: SentimentConfig, chunk: dict[str, Any]) -> dict[str, Any]:
    """One chunk through the hosted LLM behind ``cfg.llm_conn_id``; the structured answer (XCom-safe).

    pydantic-ai is imported here, at run time, never when the DAG file is parsed.
    """
    from include.sentiment import pipeline
    from include.sentiment.llm import classify_chunk

    return classify_chunk(pipeline.llm_prompt(chunk), conn_id=cfg.llm_conn_id, model_id=cfg.llm_model_id,
                          timeout_s=cfg.llm_timeout_s, max_retries=cfg.llm_max_retries)


def _summary(context: dict[str, Any]) -> dict[str, Any]:
    return context["ti"].xcom_pull(task_ids="prepare", key=SUMMARY_KEY) or {}


def load(cfg: SentimentConfig, day: date, chunks: list[dict], score_uris: Any, llm_outputs: Any,
         context: dict[str, Any]) -> dict[str, Any]:
    """Upsert the branch's results into ``sentiment_results``; counts (and a warning on a zero-row day)."""
    from include.sentiment import pipeline

    if cfg.llm:
        version = cfg.llm_version
        frame, problems = pipeline.llm_rows(chunks, list(llm_outputs or []), version)
    else:
        version = _summary(context).get("model_version", "")
        frame, problems = pipeline.read_scores(list(score_uris or [])), None
    # No chunks (every valid text empty or a duplicate): zero rows and a warning, not a failure.
    loaded = pipeline.load(day, frame, problems, model_version=version) | {"backend": cfg.backend}
    if context.get("outlet_events") is not None:
        from include.platform import assets

        # The Assets view answers "what did today's scoring say, with which model" from the event alone.
        context["outlet_events"][assets.SENTIMENT_RESULTS].extra = {
            "day": day.isoformat(), **{k: loaded.get(k) for k in ("model_version", "backend", "scored", "negative",
                                                                   "neutral", "positive", "unlabeled")}}
    return loaded


def report(cfg: SentimentConfig, day: date, extracted: dict[str, Any], loaded: dict[str, Any],
           context: dict[str, Any]) -> dict[str, Any]:
    """The daily SQL report and its Markdown + PNG; tells ``cloud_cost_report`` what scoring spent."""
    from include.platform import assets, compute
    from include.sentiment import pipeline

    prepared = _summary(context)
    summary = extracted | {k: prepared.get(k, 0) for k in ("duplicates", "empty", "truncated")} | loaded
    result = pipeline.build_report(day, summary)
    # "auto" picks the device per scoring chunk; the hosted LLM's device is the provider's.
    device = "hosted-llm" if cfg.llm else cfg.device.replace("auto", "unreported")
    compute.emit(context, assets.COMPUTE_SPENT, device=device, backend=cfg.backend,
                 rows_scored=loaded.get("scored", 0))
    return result


# ------------------------------------------------------------------------------------ train_sentiment_model
def train(cfg: TrainingConfig, context: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune on the real corpus (+ supplement), evaluate on the cross-domain test set beside the lexicon,
    register the version with those numbers and write the run's report to the lake.

    The compute is reported here (``compute_spent``), not by :func:`promote`: a model the gate
    rejects cost the same.
    """
    import tempfile

    from include.platform import assets, compute, lifecycle
    from include.sentiment import MODEL_NAME, distill, onnx_export, training

    data = training.training_data(cfg)
    result = training.fine_tune(data.frame, cfg)
    evaluation = training.honest_evaluation(result, data, cfg)
    evaluated_on = training.evaluated_on()
    with tempfile.TemporaryDirectory() as tmp:
        training.save(result, tmp)
        # The ONNX Runtime int8 export ships inside the version (onnx/, sha256 in the registry manifest) with
        # its own macro-F1 on the same test texts: precision=auto serves it only if that held.
        fast = onnx_export.export_and_evaluate(tmp, cfg.max_length, cfg.threads)
        evaluation["detail"]["onnx_int8"] = fast["quality"]
        # The distilled student ships inside the version too (student/), with its own real-text macro-F1:
        # scoring serves it only if that stayed within 0.01 of the full model's fp32.
        student = distill.build_and_evaluate(result, data, cfg, tmp)
        if student:
            evaluation["detail"]["student"] = student["quality"]
        mv = lifecycle.register(
            MODEL_NAME, tmp, registered_by="train_sentiment_model.train",
            metrics=evaluation["metrics"] | fast["metrics"] | student.get("metrics", {})
            | {"train_seconds": result.seconds},
            metadata={"base_model": cfg.base_model, "evaluated_on": evaluated_on, "split": result.split,
                      "holdout": "template-disjoint" if cfg.examples else "none",
                      "evaluation": evaluation["detail"], "train_data": evaluation["detail"]["train_data"],
                      "test_data": evaluation["detail"]["test_data"],
                      "config": cfg.as_dict(), "loss_per_epoch": result.history},
        )
    report_uri = training.write_report(mv.version, evaluation, result.seconds, cfg)
    steps_s = {"fine_tune": result.seconds} | ({"distill": student["seconds"]} if student else {})
    compute.emit(context, assets.COMPUTE_SPENT, device="cpu", steps_s=steps_s,
                 model=MODEL_NAME, version=mv.version)
    return {"version": mv.version, "metrics": mv.metrics, "evaluated_on": evaluated_on, "report_uri": report_uri}


def promote(cfg: TrainingConfig, trained: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The quality gate through the shared lifecycle; a promotion emits ``sentiment_model``, a rejection skips.

    The event's extra is the lifecycle's (``model``, ``version``, ``metrics``, ``status`` ...), so
    ``canary_deploy`` and the registry read the same words.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from include.platform import assets
    from include.sentiment import MODEL_NAME, training

    decision = training.gate_and_promote(MODEL_NAME, trained, cfg.min_macro_f1, context, beat_lexicon=cfg.beat_lexicon)
    if not decision["promoted"]:
        raise AirflowSkipException(f"{MODEL_NAME}/{trained['version']} not promoted: {decision['reason']}")
    context["outlet_events"][assets.SENTIMENT_MODEL].extra = decision["asset_extra"]
    return decision
