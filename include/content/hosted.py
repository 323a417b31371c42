"""The LLM writer: one structured call per brief, the retrieved chunks as the only allowed sources.

The call goes through :func:`include.platform.llm_answers.ask_structured` (the common-ai provider's
``PydanticAIHook``, the hook behind ``@task.llm``) against the connection in Param ``llm_conn_id``, in pool
``llm_api`` (the DAG's task). The answer is structured (:class:`Draft`): a title and sentences, each with the
ids of the chunks it rests on, so the grounding gate checks every sentence against what it cites instead
of parsing ``[1]``-style markers out of prose.

The prompt is JSON lines: first the brief (``brief_id``, topic, audience, tone, sentences wanted), then one
line per retrieved chunk (``chunk_id``, ``heading``, ``text``). The instructions forbid facts not in the
chunks; the gate does not trust that (a model may still add them) and quarantines what is unsupported.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

INSTRUCTIONS = (
    "You write short articles for the audience and in the tone a brief asks for, using ONLY the facts in the "
    "context chunks you are given. Answer with a title and a list of sentences; every sentence lists the "
    "chunk_id values of the chunks that state what it says (one or more). Never state a fact that is not in "
    "the chunks, never cite an id that is not in the context, and write about the number of sentences asked."
)


class Sentence(BaseModel):
    text: str = Field(description="One sentence of the article.")
    citations: list[str] = Field(description="chunk_id values of the context chunks supporting this sentence.")


class Draft(BaseModel):
    """Structured output of one LLM call (module scope: XCom must be able to rebuild it)."""

    title: str
    sentences: list[Sentence]


def build_prompt(brief: dict[str, Any], hits: list[dict[str, Any]], n_sentences: int) -> str:
    head = {"brief_id": brief["brief_id"], "topic": brief["topic"], "audience": brief["audience"],
            "tone": brief["tone"], "sentences": n_sentences}
    lines = [json.dumps(head, ensure_ascii=False)]
    lines += [json.dumps({"chunk_id": h["chunk_id"], "heading": h["heading"], "text": h["body"]},
                         ensure_ascii=False) for h in hits]
    return (f"Write the article for this brief (first line) from these {len(hits)} context chunks "
            "(one JSON object per line):\n" + "\n".join(lines))


def write(brief: dict[str, Any], hits: list[dict[str, Any]], n_sentences: int, *, conn_id: str,
          model_id: str | None, timeout_s: float, max_retries: int, temperature: float) -> dict[str, Any]:
    """The :class:`Draft` for ``brief`` as a plain dict (XCom-safe)."""
    from include.platform.llm_answers import ask_structured

    settings = {"timeout": float(timeout_s), "max_retries": int(max_retries), "temperature": float(temperature),
                # generous: ~40 tokens a sentence plus the JSON framing and citation ids
                "max_tokens": int(n_sentences * 120 + 200)}
    return ask_structured(build_prompt(brief, hits, n_sentences), conn_id=conn_id, model_id=model_id,
                          output_type=Draft, instructions=INSTRUCTIONS, settings=settings)
