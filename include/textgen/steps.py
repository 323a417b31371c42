"""The tasks of ``text_generation``, one step function each: what a task does, given its typed config.

:func:`prepare` → :func:`choose_backend` (branch) → :func:`generate_chunk` | :func:`llm_generate_chunk`
(mapped over chunks) → :func:`publish` → :func:`report`.

The work lives in :mod:`include.textgen.pipeline`; this module decides what runs, skips or fails, and
what goes to XCom, alerts and asset events. Import-light at module level.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from include.textgen import DAG_ID

if TYPE_CHECKING:
    from include.textgen.config import GenerationConfig

log = logging.getLogger(__name__)

#: The XCom key under which :func:`prepare` leaves its counts (the chunks are its return value).
SUMMARY_KEY = "summary"


def prepare(cfg: GenerationConfig, day: date, context: dict[str, Any]) -> list[dict[str, Any]]:
    """Resolve the model (no champion: fail at once naming llm_fine_tuning), validate prompts, cut chunks.

    No prompt line at all → the run is skipped. Only invalid lines → a warning alert, then skipped
    (the quarantine says where and why).
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from include.platform.notify import Alert, send_alert
    from include.textgen import pipeline

    info = pipeline.prepare(cfg, day, context["run_id"])
    context["ti"].xcom_push(key=SUMMARY_KEY, value={k: v for k, v in info.items() if k != "chunks"})
    if info["lines"] == 0:
        raise AirflowSkipException(f"no prompts under raw/prompts/{day}/ ({info['files']} files) and none in the "
                                   "form: nothing to generate")
    if info["valid"] == 0:
        warning = f"all {info['quarantined']} prompts of {day} are invalid; see {info['quarantine_uri']}"
        send_alert(Alert(subject=f"{DAG_ID} {day}: every prompt quarantined", body=warning, severity="warning"),
                   context)
        raise AirflowSkipException(warning)
    return info["chunks"]


def choose_backend(cfg: GenerationConfig) -> str:
    return "llm_generate_chunk" if cfg.llm else "generate_chunk"


def generate_chunk(cfg: GenerationConfig, chunk: dict[str, Any], context: dict[str, Any]) -> str:
    """One chunk through the registry model; the URI of its raw generations."""
    from include.textgen import pipeline

    return pipeline.generate_chunk(cfg, chunk, context["run_id"])


def llm_generate_chunk(cfg: GenerationConfig, chunk: dict[str, Any]) -> dict[str, Any]:
    """One chunk through the hosted LLM behind ``cfg.llm_conn_id``; the structured answer (XCom-safe)."""
    from include.textgen import pipeline
    from include.textgen.hosted import generate_chunk

    prompt, n = pipeline.llm_prompt(chunk)
    return generate_chunk(prompt, n, conn_id=cfg.llm_conn_id, model_id=cfg.llm_model_id, timeout_s=cfg.llm_timeout_s,
                          max_retries=cfg.llm_max_retries, max_new_tokens=cfg.max_new_tokens,
                          temperature=cfg.temperature, top_p=cfg.top_p, seed=cfg.seed,
                          stop_sequences=list(cfg.stop_sequences))


def _summary(context: dict[str, Any]) -> dict[str, Any]:
    return context["ti"].xcom_pull(task_ids="prepare", key=SUMMARY_KEY) or {}


def publish(cfg: GenerationConfig, day: date, chunks: list[dict], uris: Any, llm_outputs: Any,
            context: dict[str, Any]) -> dict[str, Any]:
    """Post-process, gate, upsert ``generated_text``; the ``generated_text`` event names version and counts."""
    from include.platform import assets
    from include.textgen import pipeline

    prepared = _summary(context)
    if cfg.llm:
        frame, missing = pipeline.llm_rows(chunks, list(llm_outputs or []))
    else:
        frame, missing = pipeline.read_generations(list(uris or [])), []
    out = pipeline.publish(cfg, day, prepared, frame, missing)
    context["outlet_events"][assets.GENERATED_TEXT].extra = {
        k: out[k] for k in ("model_version", "backend", "published", "quarantined_outputs")} | {"day": day.isoformat()}
    return out


def report(day: date, published: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The day's report; then ``compute_spent`` (generation is this DAG's spend; cloud_cost_report runs on it)."""
    from include.platform import assets, compute
    from include.textgen import pipeline

    out = pipeline.build_report(day, _summary(context), published)
    hosted = published.get("backend") == "llm"
    # the generating tasks ran elsewhere (mapped); their device is not known here, so it is not guessed
    compute.emit(context, assets.COMPUTE_SPENT, device="hosted-llm" if hosted else None,
                 backend=published.get("backend"), model_version=published.get("model_version"),
                 outputs_published=published.get("published"),
                 outputs_quarantined=published.get("quarantined_outputs"))
    return out
