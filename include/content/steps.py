"""The tasks of ``content_generation``, one step function each: what a task does, given its typed config.

:func:`prepare` → :func:`retrieve` (mapped per brief) → :func:`choose_mode` (branch) → :func:`write_extractive`
| :func:`write_llm` | :func:`write_local` (mapped per brief) → :func:`gate` → :func:`review_route` (branch) → the HITL approval
task (in the DAG file) → :func:`publish` → :func:`report`.

The work lives in :mod:`include.content.pipeline`; this module decides what runs, skips or fails, and what
goes to XCom, alerts and asset events. Import-light at module level.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from include.content import DAG_ID

if TYPE_CHECKING:
    from include.content.config import ContentConfig

log = logging.getLogger(__name__)

SUMMARY_KEY = "summary"
#: Task ids the steps refer to (the DAG file names its tasks after them).
APPROVAL_TASK, PUBLISH_TASK, EXTRACTIVE_TASK, LLM_TASK, LOCAL_TASK = (
    "approve", "publish", "write_extractive", "write_llm", "write_local")


def prepare(cfg: ContentConfig, day: date, context: dict[str, Any]) -> list[dict[str, Any]]:
    """The valid briefs to map over. None at all → skipped; only invalid ones → a warning alert, skipped."""
    from airflow.sdk.exceptions import AirflowSkipException

    from include.content import pipeline
    from include.platform.notify import Alert, send_alert

    info = pipeline.prepare(cfg, day)
    context["ti"].xcom_push(key=SUMMARY_KEY, value={k: v for k, v in info.items() if k != "briefs"})
    if info["lines"] == 0:
        raise AirflowSkipException(f"no briefs under raw/briefs/{day}/ ({info['files']} files) and none in the "
                                   "form: nothing to write")
    if info["valid"] == 0:
        warning = f"all {info['quarantined']} briefs of {day} are invalid; see {info['quarantine_uri']}"
        send_alert(Alert(subject=f"{DAG_ID} {day}: every brief quarantined", body=warning, severity="warning"),
                   context)
        raise AirflowSkipException(warning)
    return info["briefs"]


def retrieve(cfg: ContentConfig, brief: dict[str, Any]) -> dict[str, Any]:
    from include.content import pipeline

    return pipeline.retrieve(cfg, brief)


def choose_mode(cfg: ContentConfig) -> str:
    """The writing task of this run: ``write_llm``, ``write_local`` or ``write_extractive``.

    Local mode resolves ``local_model`` here, so a missing champion fails the run once, before any writer runs.
    """
    from include.content import pipeline

    mode = pipeline.resolve_mode(cfg)
    if mode == "local":
        log.info("mode local: %s is %s", cfg.local_model, pipeline.resolve_local_model(cfg))
        return LOCAL_TASK
    log.info("mode %s resolves to %s", cfg.mode, mode)
    return LLM_TASK if mode == "llm" else EXTRACTIVE_TASK


def write_extractive(cfg: ContentConfig, retrieved: dict[str, Any]) -> dict[str, Any]:
    from include.content import pipeline

    return pipeline.write_extractive(cfg, retrieved)


def write_local(cfg: ContentConfig, retrieved: dict[str, Any]) -> dict[str, Any]:
    from include.content import pipeline

    return pipeline.write_local(cfg, retrieved)


def write_llm(cfg: ContentConfig, retrieved: dict[str, Any]) -> dict[str, Any]:
    from include.content import pipeline

    return pipeline.write_llm(cfg, retrieved)


def gate(cfg: ContentConfig, day: date, retrieved: Any, writers: list[Any],
         context: dict[str, Any]) -> dict[str, Any]:
    """Grounding gate over the drafts of whichever writer ran (the others' outputs are None: skipped)."""
    from include.content import pipeline

    drafts = [d for out in writers for d in list(out or []) if d]
    return pipeline.gate(cfg, day, context["run_id"], list(retrieved), drafts)


def review_route(cfg: ContentConfig, gated: dict[str, Any]) -> str:
    """Ask a reviewer when approval is required and something passed the gate; else straight to publish."""
    if cfg.require_approval and gated["passed"]:
        return APPROVAL_TASK
    log.info("no approval step: require_approval=%s, %d drafts passed", cfg.require_approval, len(gated["passed"]))
    return PUBLISH_TASK


def publish(cfg: ContentConfig, day: date, gated: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Apply the reviewer's decision (the approval task's XCom; none when it was skipped); emit the asset."""
    from include.content import pipeline
    from include.platform import assets

    response = context["ti"].xcom_pull(task_ids=APPROVAL_TASK)
    out = pipeline.publish(cfg, day, context["run_id"], gated, response)
    context["outlet_events"][assets.GENERATED_CONTENT].extra = {
        k: out[k] for k in ("day", "status", "published", "rejected", "quarantined", "modes")}
    return out


def report(day: date, gated: dict[str, Any], published: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from include.content import pipeline

    prepared = context["ti"].xcom_pull(task_ids="prepare", key=SUMMARY_KEY) or {}
    return pipeline.build_report(day, prepared, gated, published)
