"""The hosted-LLM backend: one prompt per chunk, structured output, parsed back into result rows.

The call itself is made by ``@task.llm`` (apache-airflow-providers-common-ai) against a connection
(OpenAI, Anthropic, Bedrock, Vertex, Azure OpenAI or any OpenAI-compatible host such as vLLM /
Ollama), so credentials and the model live in the connection, not here. This module only builds the
prompt and checks the answer: every id asked about must come back exactly once with one of our
labels; anything else is reported, never silently filled in.
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


def parse_output(output: Any, expected_ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(result rows, problems) from a ``ChunkSentiment`` (or its ``model_dump()``)."""
    parsed = output if isinstance(output, ChunkSentiment) else ChunkSentiment.model_validate(output)
    expected = set(expected_ids)
    rows: dict[str, dict[str, Any]] = {}
    problems: list[dict[str, str]] = []
    for item in parsed.items:
        if item.id not in expected:
            problems.append({"id": item.id, "reason": "LLM answered for an id it was not asked about"})
        elif item.id in rows:
            problems.append({"id": item.id, "reason": "LLM answered twice; first answer kept"})
        else:
            rows[item.id] = {"feedback_id": item.id, "label": item.label, "score": float(item.confidence)}
    for missing in [i for i in expected_ids if i not in rows]:
        problems.append({"id": missing, "reason": "LLM returned no label for this id"})
    return list(rows.values()), problems
