"""The hosted-LLM backend: one request per chunk, structured output, parsed back into generations.

The call goes through the common-ai provider's ``PydanticAIHook`` (the hook ``@task.llm`` itself uses),
exactly as :mod:`include.sentiment.llm` does, against the connection in Param ``llm_conn_id`` (OpenAI,
Anthropic, Bedrock, Vertex, Azure OpenAI or any OpenAI-compatible host such as vLLM / Ollama): the
provider, key and model live in the connection. Decoding Params travel as pydantic-ai
``ModelSettings`` (temperature, top_p, seed, stop sequences, and a ``max_tokens`` of the chunk's
prompts × ``max_new_tokens``, a provider counts the whole answer).

Why not ``@task.llm`` in the DAG file: its operator module imports pydantic-ai at module level, which
cost every parse of a DAG file 0.6-0.9 s (measured for the sentiment DAG); :func:`generate_chunk`
imports the provider only when the task runs.

Every prompt id asked about must come back exactly once; anything else is reported (the prompt is then
quarantined with the reason), never filled in.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You continue the openings of customer product reviews of women's clothing. For every item you receive, "
    "answer with its id and a natural continuation of 1-3 sentences in the same voice (the continuation only, "
    "without repeating the opening). Answer for every id, once."
)


class ItemText(BaseModel):
    id: str
    text: str


class ChunkTexts(BaseModel):
    """Structured output of one LLM call (module scope: XCom must be able to rebuild it)."""

    items: list[ItemText]


def build_prompt(rows: list[dict[str, Any]]) -> str:
    """The user prompt for one chunk: ids and prompts as JSON lines."""
    lines = "\n".join(json.dumps({"id": r["prompt_id"], "prompt": r["prompt"]}, ensure_ascii=False) for r in rows)
    return f"Continue each of these {len(rows)} review openings:\n{lines}"


def generate_chunk(prompt: str, n_items: int, *, conn_id: str, model_id: str | None, timeout_s: float,
                   max_retries: int, max_new_tokens: int, temperature: float, top_p: float, seed: int,
                   stop_sequences: list[str]) -> dict[str, Any]:
    """One structured call to the LLM behind ``conn_id``; the ``ChunkTexts`` as a plain dict (XCom-safe).

    ``timeout_s`` / ``max_retries``: the client's per-request limits (a 429 / 5xx / timeout is retried
    inside the task with exponential backoff and Retry-After before Airflow's task retries take over).
    """
    from include.platform.llm_answers import ask_structured

    settings: dict[str, Any] = {"timeout": float(timeout_s), "max_retries": int(max_retries),
                                "temperature": float(temperature), "seed": int(seed),
                                # generous: JSON framing and ids count too, and tokenizers differ
                                "max_tokens": int(n_items * max_new_tokens * 2 + 64)}
    if temperature > 0 and top_p < 1:
        settings["top_p"] = float(top_p)
    if stop_sequences:
        # Not sent as the provider's stop: a stop would end the whole JSON answer, not one item's text;
        # post-processing cuts each item at its first stop sequence instead.
        log.info("stop sequences applied per item after the call: %s", stop_sequences)
    return ask_structured(prompt, conn_id=conn_id, model_id=model_id, output_type=ChunkTexts,
                          instructions=SYSTEM_PROMPT, settings=settings)


def parse_output(output: Any, expected_ids: list[str]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """({prompt_id: text}, problems) from a ``ChunkTexts`` (or its ``model_dump()``)."""
    from include.platform.llm_answers import first_answers

    parsed = output if isinstance(output, ChunkTexts) else ChunkTexts.model_validate(output)
    kept, problems = first_answers(parsed.items, expected_ids, missing="LLM returned no text for this prompt")
    return ({k: item.text for k, item in kept.items()},
            [{"prompt_id": key, "reason": reason} for key, reason in problems])
