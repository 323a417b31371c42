"""The hosted-LLM backend: one prompt per chunk, structured output, parsed back into result rows.

The call goes through the common-ai provider's ``PydanticAIHook`` (the hook ``@task.llm`` itself
uses) against a connection (OpenAI, Anthropic, Bedrock, Vertex, Azure OpenAI or any
OpenAI-compatible host such as vLLM / Ollama), so credentials and the model live in the connection,
not here. Every id asked about must come back exactly once with one of our labels; anything else is
reported, never silently filled in.

Why not ``@task.llm`` in the DAG file: its operator module imports pydantic-ai at module level, so
merely *declaring* the task cost every parse of the DAG file 0.6-0.9 s. :func:`classify_chunk`
imports the provider only when the task runs; this module itself stays import-cheap (pydantic only,
which Airflow already loads).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

SentimentLabel = Literal["negative", "neutral", "positive"]

SYSTEM_PROMPT = (
    "You classify customer feedback sentiment. For every item you receive, answer with its id, "
    "a label (negative, neutral or positive) and your confidence between 0 and 1. "
    "Judge the customer's attitude, not the topic. Answer for every id, once."
)


class ItemSentiment(BaseModel):
    id: str
    label: SentimentLabel
    confidence: float = Field(ge=0.0, le=1.0)


class ChunkSentiment(BaseModel):
    """Structured output of one LLM call (module scope: XCom must be able to rebuild it)."""

    items: list[ItemSentiment]


def build_prompt(rows: list[dict[str, Any]]) -> str:
    """The user prompt for one chunk: ids and (already cleaned and truncated) texts as JSON lines."""
    lines = "\n".join(json.dumps({"id": r["id"], "text": r["text_model"]}, ensure_ascii=False) for r in rows)
    return f"Classify the sentiment of these {len(rows)} customer messages:\n{lines}"


def classify_chunk(prompt: str, *, conn_id: str, model_id: str | None, timeout_s: float,
                   max_retries: int) -> dict[str, Any]:
    """One structured call to the LLM behind ``conn_id``; the ``ChunkSentiment`` as a plain dict (XCom-safe).

    ``timeout_s`` and ``max_retries`` are the client's per-request limits (pydantic-ai
    ``ModelSettings``): a 429 / 5xx / timeout is retried inside the task with exponential backoff and
    Retry-After before the task itself fails and Airflow's task retries take over. An empty
    ``model_id`` keeps the connection's model.
    """
    from include.platform.llm_answers import ask_structured

    return ask_structured(prompt, conn_id=conn_id, model_id=model_id, output_type=ChunkSentiment,
                          instructions=SYSTEM_PROMPT,
                          settings={"timeout": float(timeout_s), "max_retries": int(max_retries)})


def parse_output(output: Any, expected_ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(result rows, problems) from a ``ChunkSentiment`` (or its ``model_dump()``)."""
    from include.platform.llm_answers import first_answers

    parsed = output if isinstance(output, ChunkSentiment) else ChunkSentiment.model_validate(output)
    kept, problems = first_answers(parsed.items, expected_ids, missing="LLM returned no label for this id")
    return ([{"feedback_id": key, "label": item.label, "score": float(item.confidence)} for key, item in kept.items()],
            [{"id": key, "reason": reason} for key, reason in problems])
