"""``content_generation``'s typed config: the single home of every Param (default, bounds, description).

The DAG builds its form with ``ContentConfig.params()``; each task turns the run's Params into the
typed object with ``ContentConfig.from_params(params)`` and hands it to :mod:`include.content.steps`.

Params that grant reach are constrained: ``llm_conn_id`` must be allow-listed (``content_llm``, or Variable
``genai_allowed_connections``); briefs never name a path (the day's folder comes from the run's date, a
``brief_id`` is a plain name checked against a pattern); the knowledge base's connection is deployment
wiring (Variable ``genai_kb_conn_id``), as in ``ingest_knowledge_base``.

Import-light: DAG files import this module at parse time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from include.content import MODES
from include.llm import CHAMPION_REF
from include.platform.config import DagConfig, knob, wiring
from include.platform.errors import ConfigError
from include.rag import KB_CONN_ID
from include.textgen.config import TEXTGEN_REF_PATTERN

#: The project's own hosted-LLM connection for content; more via Variable ``genai_allowed_connections``.
LLM_CONN_IDS = ("content_llm",)
CONN_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,250}$"
LENGTHS = ("short", "medium", "long")

_BRIEF, _RETRIEVE, _WRITE, _LOCAL, _GATE, _REVIEW, _LLM = (
    "Brief", "Retrieval", "Writing", "Local mode", "Grounding gate", "Review and publish", "LLM mode")


@dataclass(frozen=True)
class ContentConfig(DagConfig):
    """``content_generation``: which briefs, how much context, who writes, what may be published."""

    topic: str = knob("", "One brief typed in the trigger form: what the piece is about (written in addition to the "
                      "day's brief files; its brief_id is 'form-' + a hash of topic, audience, tone and length, so "
                      "re-triggering the same brief updates, never duplicates). Empty = only the files.",
                      section=_BRIEF, maxLength=500)
    audience: str = knob("platform engineers", "The form brief's readers (steers retrieval and the writer).",
                         section=_BRIEF, maxLength=200)
    tone: str = knob("plain and direct", "The form brief's tone (LLM mode follows it; extractive mode quotes the "
                     "sources as written).", section=_BRIEF, maxLength=100)
    length: str = knob("medium", "The form brief's length: short (3 sentences), medium (5), long (8).",
                       section=_BRIEF, enum=list(LENGTHS))
    read_lake: bool = knob(True, "Read the day's raw/briefs/<YYYY-MM-DD>/*.jsonl (one object per line: brief_id, "
                           "topic, and optional audience, tone, length). Off = only the form's brief.",
                           section=_BRIEF)

    top_k: int = knob(5, "Chunks retrieved per brief (hybrid BM25 + MiniLM, reciprocal-rank fusion): the only "
                      "text the writer may use and cite.", section=_RETRIEVE, minimum=1, maximum=20)
    retrieval_mode: str = knob("hybrid", "hybrid (default), bm25 or dense retrieval.", section=_RETRIEVE,
                               enum=["hybrid", "bm25", "dense"])

    mode: str = knob("auto", "Who writes the draft. llm: a hosted LLM through llm_conn_id (pool llm_api). "
                     "extractive: the retrieved sentences most similar to the brief (MiniLM), ordered by source, "
                     "each cited. local: offline, local_model (textgen@champion, from llm_fine_tuning) continues "
                     "the retrieved chunks + the brief; it emits no citations, so each sentence cites the retrieved "
                     "chunk most similar to it (MiniLM) and the gate judges it like any draft. auto: llm when the "
                     "connection llm_conn_id exists, else extractive (never local: the shipped model is a small "
                     "review-continuation model). The mode is recorded with every draft.", section=_WRITE,
                     enum=list(MODES))
    max_sentences_per_chunk: int = knob(2, "Extractive mode: sentences taken from one chunk at most (spreads the "
                                        "citations).", section=_WRITE, minimum=1, maximum=20)

    local_model: str = knob(CHAMPION_REF, "Local mode: the textgen registry version that writes (textgen@champion "
                            "or textgen/<n>; trained by DAG llm_fine_tuning).", section=_LOCAL,
                            pattern=TEXTGEN_REF_PATTERN, maxLength=80)
    local_tokens_per_sentence: int = knob(24, "Local mode: new tokens per sentence the brief's length asks for "
                                          "(short 3, medium 5, long 8), at most half the model's window; the "
                                          "prompt (context cut from its end, the brief kept) gets the rest.",
                                          section=_LOCAL, minimum=4, maximum=200)
    local_temperature: float = knob(0.0, "Local mode: 0 = greedy (deterministic); > 0 = sampling seeded by "
                                    "local_seed (the same text on a rerun).", section=_LOCAL, type="number",
                                    minimum=0, maximum=2)
    local_top_p: float = knob(1.0, "Local mode, sampling: nucleus probability mass.", section=_LOCAL, type="number",
                              exclusiveMinimum=0, maximum=1)
    local_seed: int = knob(7, "Local mode, sampling: the seed.", section=_LOCAL, minimum=0, maximum=2**31 - 1)

    min_support: float = knob(0.6, "Every sentence must reach this MiniLM cosine similarity with a sentence (or the "
                              "whole text) of a chunk it cites. Verbatim sentences score 1.0, faithful paraphrases "
                              "0.86-0.97, unrelated claims < 0.2; a changed number is NOT caught (similarity is not "
                              "entailment; docs/content_generation.md).", section=_GATE,
                              minimum=0, maximum=1)
    min_sentences: int = knob(2, "Drafts with fewer sentences are quarantined.", section=_GATE, minimum=1,
                              maximum=100)
    max_words: int = knob(1200, "Drafts longer than this (words) are quarantined (the demo style guide's limit).",
                          section=_GATE, minimum=10, maximum=20_000)
    min_cited_chunks: int = knob(1, "Distinct retrieved chunks a draft must cite at least.", section=_GATE,
                                 minimum=1, maximum=20)
    banned_terms: list = knob(["lorem ipsum", "as an ai language model", "http://", "https://"],
                              "Drafts containing any of these (case-insensitive; whole words for alphanumeric "
                              "terms) are quarantined.", section=_GATE,
                              items={"type": "string", "minLength": 1, "maxLength": 100}, maxItems=500)

    require_approval: bool = knob(True, "Wait for a reviewer (Required Actions in the UI, or the HITL REST API) "
                                  "before publishing; Approve publishes, Reject records the decision and comment. "
                                  "Off = publish every draft that passed the gate (batch runs; make run without "
                                  "CONF uses this).", section=_REVIEW)

    llm_conn_id: str = knob("content_llm", "LLM mode: the pydantic-ai connection (provider, key, model). Only "
                            "content_llm or ids an operator allow-listed (Variable genai_allowed_connections).",
                            section=_LLM, pattern=CONN_ID_PATTERN)
    llm_model_id: str = knob("", "LLM mode: model override such as 'openai:gpt-5-mini'; empty = the connection's "
                             "model.", section=_LLM, maxLength=200)
    llm_timeout_s: float = knob(60, "LLM mode: seconds one request may take before it is abandoned and retried.",
                                section=_LLM, type="number", minimum=1, maximum=600)
    llm_max_retries: int = knob(4, "LLM mode: retries of one request inside a task (429 / 5xx / timeout) with "
                                "exponential backoff and Retry-After; then the task itself is retried.",
                                section=_LLM, minimum=0, maximum=10)
    temperature: float = knob(0.2, "LLM mode: sampling temperature (low: stay close to the sources).",
                              section=_LLM, minimum=0, maximum=2)

    kb_conn_id: str = wiring("kb_conn_id", KB_CONN_ID, "Connection of the knowledge base's vector store (type "
                             "duckdb; absent: the embedded data/knowledge_base.duckdb).")

    SECTION_ORDER: ClassVar[tuple[str, ...]] = (_BRIEF, _RETRIEVE, _WRITE, _LOCAL, _GATE, _REVIEW, _LLM)

    def check(self) -> None:
        if not self.read_lake and not self.topic.strip():
            raise ConfigError("read_lake is off and the form's topic is empty: nothing to write",
                              "type a topic or turn read_lake on")
        if self.mode == "llm" or self.llm_conn_id != LLM_CONN_IDS[0]:
            from include.platform.settings import check_allowed

            check_allowed("connections", self.llm_conn_id, LLM_CONN_IDS)

    @property
    def llm_version(self) -> str:
        """What ``generated_content.model`` records for an LLM draft."""
        return f"llm:{self.llm_conn_id}:{self.llm_model_id or 'connection-model'}"
