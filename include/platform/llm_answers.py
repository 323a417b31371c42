"""One structured call to a hosted LLM, and matching its answers back to the ids it was asked about.

Two rooms send a chunk of items to a hosted LLM and get a list of ``{id, ...}`` answers back (sentiment labels,
generated texts): the call (:func:`ask_structured`) and the matching (:func:`first_answers`) are the same for
both. Models drift: they invent ids, answer one twice, skip one. The one rule for all rooms: keep the first
answer per asked id, and name every other case as a problem, so the caller can quarantine it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

UNASKED = "LLM answered for an id it was not asked about"
TWICE = "LLM answered twice; first answer kept"


def first_answers(items: Iterable[T], expected_ids: Sequence[str], *, missing: str,
                  id_of: Any = lambda item: item.id) -> tuple[dict[str, T], list[tuple[str, str]]]:
    """``({asked id: first answer}, [(id, reason), ...])``; ``missing`` is the reason for an unanswered id."""
    expected = set(expected_ids)
    kept: dict[str, T] = {}
    problems: list[tuple[str, str]] = []
    for item in items:
        key = id_of(item)
        if key not in expected:
            problems.append((key, UNASKED))
        elif key in kept:
            problems.append((key, TWICE))
        else:
            kept[key] = item
    problems += [(i, missing) for i in expected_ids if i not in kept]
    return kept, problems


def ask_structured(prompt: str, *, conn_id: str, model_id: str | None, output_type: type, instructions: str,
                   settings: dict[str, Any]) -> dict[str, Any]:
    """One call through the common-ai provider's ``PydanticAIHook`` (the hook behind ``@task.llm``); the
    ``output_type`` instance as a plain dict (XCom-safe). An empty ``model_id`` keeps the connection's model.

    ``settings`` are pydantic-ai ``ModelSettings``; ``timeout`` / ``max_retries`` there make a 429 / 5xx /
    timeout retry inside the task with exponential backoff and Retry-After before Airflow's task retries.
    """
    # Run time only: pydantic-ai costs ~0.5 s to import, which a DAG file must not pay at parse.
    from airflow.providers.common.ai.hooks.pydantic_ai import PydanticAIHook
    from airflow.providers.common.ai.utils.logging import log_run_summary

    hook = PydanticAIHook.get_hook(conn_id, hook_params={"model_id": model_id or None})
    agent = hook.create_agent(output_type=output_type, instructions=instructions, model_settings=settings)
    result = agent.run_sync(prompt)
    log_run_summary(log, result)
    return result.output.model_dump()
