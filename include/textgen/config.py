"""``text_generation``'s typed config: the single home of every Param (default, bounds, description).

The DAG builds its form with ``GenerationConfig.params()``; each task turns the run's Params into the
typed object with ``GenerationConfig.from_params(params)`` and hands it to :mod:`include.textgen.steps`.

**Params that grant reach** are constrained: ``model`` (or, left empty, Variable ``genai_textgen_model``,
validated against the same pattern) and ``reference_model`` are ``textgen`` registry references only (``textgen@champion``, ``textgen/<n>``; no folders, no other models: the form's
pattern refuses them before a run exists), ``llm_conn_id`` must be allow-listed (``textgen_llm``, or
Variable ``genai_allowed_connections``). Prompts never name a path: the day's folder is derived from the
run's date.

Import-light: DAG files import this module at parse time (no torch, transformers, pandas, pydantic-ai).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from include.llm import CHAMPION_REF, MODEL_NAME
from include.platform.config import DagConfig, knob
from include.platform.errors import ConfigError

#: A ``textgen`` registry reference: an alias or a version number (nothing else is loaded).
TEXTGEN_REF_PATTERN = rf"^{MODEL_NAME}(@(champion|challenger|previous)|/[1-9][0-9]{{0,8}})$"
#: The project's own hosted-LLM connection for generation; more via Variable ``genai_allowed_connections``.
LLM_CONN_IDS = ("textgen_llm",)
CONN_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,250}$"

_PROMPTS, _MODEL, _DECODING, _THROUGHPUT, _GATE, _LLM = (
    "Prompts", "Backend and model", "Decoding", "Throughput", "Quality gate", "LLM backend")


def check_llm_conn_id(conn_id: str) -> str:
    """``conn_id`` if an operator allowed it (the project's ``textgen_llm`` always is)."""
    from include.platform.settings import check_allowed

    return check_allowed("connections", conn_id, LLM_CONN_IDS)


@dataclass(frozen=True)
class GenerationConfig(DagConfig):
    """``text_generation``: where prompts come from, which model, how to decode, and what may be published."""

    prompt: str = knob("", "One prompt typed in the trigger form (generated in addition to the day's files; its "
                       "prompt_id is 'form-' + a hash of the text, so re-triggering the same text updates, never "
                       "duplicates). Empty = only the files.", section=_PROMPTS, maxLength=4000)
    read_lake: bool = knob(True, "Read the day's raw/prompts/<YYYY-MM-DD>/*.jsonl (one object per line: prompt_id, "
                           "prompt). Off = only the form's prompt.", section=_PROMPTS)
    min_prompt_chars: int = knob(3, "Prompts shorter than this (after stripping) are quarantined.",
                                 section=_PROMPTS, minimum=1, maximum=1000)
    max_prompt_chars: int = knob(1000, "Prompts longer than this are quarantined (not truncated).",
                                 section=_PROMPTS, minimum=10, maximum=20_000)

    backend: str = knob("local", "local: the registry model (model) on this worker, batched with a KV cache. "
                        "llm: a hosted LLM through the connection in llm_conn_id (common-ai PydanticAIHook, pool "
                        "llm_api).", section=_MODEL, enum=["local", "llm"])
    model: str = knob("", "local backend: the textgen registry version to generate with "
                      "('textgen@champion', 'textgen@challenger', 'textgen/3'); resolved once per run, so every "
                      "chunk uses the same version. Trained by DAG llm_fine_tuning.",
                      section=_MODEL, setting="textgen_model", fallback=CHAMPION_REF,
                      pattern=f"^$|{TEXTGEN_REF_PATTERN}", maxLength=80)

    max_new_tokens: int = knob(40, "New tokens per prompt at most (a prompt longer than the model's window minus "
                               "this keeps its last tokens and is flagged prompt_truncated).",
                               section=_DECODING, minimum=1, maximum=1024)
    temperature: float = knob(0.7, "0 = greedy. > 0 = sampling at this temperature, seeded by seed (reruns give "
                              "the same text too). Default 0.7: the offline champion's greedy output loops (36 demo "
                              "prompts: 27 pass the gate greedy, median repetition 0.40; 33 pass at 0.7 / top-p "
                              "0.9, repetition 0.0; docs/text_generation.md).", section=_DECODING, minimum=0,
                              maximum=2)
    top_p: float = knob(0.9, "Sampling: nucleus top-p (1 = off). Ignored when greedy.", section=_DECODING,
                        exclusiveMinimum=0, maximum=1)
    seed: int = knob(7, "Sampling seed: the same prompts, chunking and seed give the same text.",
                     section=_DECODING, minimum=0, maximum=2**31 - 1)
    stop_sequences: list = knob([], "Text is cut at the first of these (the end-of-text token always stops).",
                                section=_DECODING, items={"type": "string", "minLength": 1, "maxLength": 100},
                                maxItems=16)

    chunk_size: int = knob(64, "Prompts per mapped generation task (prompts are sorted by length first).",
                           section=_THROUGHPUT, minimum=1, maximum=100_000)
    batch_size: int = knob(16, "Local backend: prompts per generate() call (left-padded to the longest).",
                           section=_THROUGHPUT, minimum=1, maximum=1024)
    threads: int = knob(2, "torch CPU threads per generation task.", section=_THROUGHPUT, minimum=1, maximum=64)

    min_chars: int = knob(5, "Outputs shorter than this after post-processing are quarantined.",
                          section=_GATE, minimum=0, maximum=100_000)
    max_chars: int = knob(2000, "Outputs longer than this are quarantined.", section=_GATE,
                          minimum=1, maximum=1_000_000)
    max_repetition: float = knob(0.5, "Largest share of repeated 3-grams (words and punctuation) an output may have.",
                                 section=_GATE, minimum=0, maximum=1)
    max_perplexity: float = knob(500.0, "Largest perplexity of the output (given its prompt) under reference_model.",
                                 section=_GATE, minimum=1, maximum=1e9)
    reference_model: str = knob(CHAMPION_REF, "The textgen version that scores perplexity. The default is the "
                                "champion itself: it catches low-probability garbage (e.g. hot sampling), it is "
                                "not an independent judge. Empty = no perplexity check.", section=_GATE,
                                pattern=f"^$|{TEXTGEN_REF_PATTERN}", maxLength=80)
    banned_terms: list = knob(["http://", "https://", "www."], "Outputs containing any of these (case-insensitive) "
                              "are quarantined; whole words for alphanumeric terms.", section=_GATE,
                              items={"type": "string", "minLength": 1, "maxLength": 100}, maxItems=500)

    llm_conn_id: str = knob("textgen_llm", "LLM backend: the pydantic-ai connection (provider, key, model). Only "
                            "textgen_llm or ids an operator allow-listed (Variable genai_allowed_connections).",
                            section=_LLM, pattern=CONN_ID_PATTERN)
    llm_model_id: str = knob("", "LLM backend: model override such as 'openai:gpt-5-mini'; empty = the "
                             "connection's model.", section=_LLM, maxLength=200)
    llm_timeout_s: float = knob(60, "LLM backend: seconds one request may take before it is abandoned and retried.",
                                section=_LLM, type="number", minimum=1, maximum=600)
    llm_max_retries: int = knob(4, "LLM backend: retries of one request inside a task (429 / 5xx / timeout) with "
                                "exponential backoff and Retry-After; then the task itself is retried.",
                                section=_LLM, minimum=0, maximum=10)

    SECTION_ORDER: ClassVar[tuple[str, ...]] = (_PROMPTS, _MODEL, _DECODING, _THROUGHPUT, _GATE, _LLM)

    @property
    def llm(self) -> bool:
        return self.backend == "llm"

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    @property
    def llm_version(self) -> str:
        """What ``generated_text.model_version`` records for a hosted-LLM run."""
        return f"llm:{self.llm_conn_id}:{self.llm_model_id or 'connection-model'}"

    def check(self) -> None:
        if self.min_prompt_chars > self.max_prompt_chars:
            raise ConfigError(f"min_prompt_chars {self.min_prompt_chars} > max_prompt_chars {self.max_prompt_chars}",
                              "swap them")
        if self.min_chars > self.max_chars:
            raise ConfigError(f"min_chars {self.min_chars} > max_chars {self.max_chars}", "swap them")
        if not self.read_lake and not self.prompt.strip():
            raise ConfigError("read_lake is off and the form's prompt is empty: nothing to generate",
                              "type a prompt or turn read_lake on")
        if self.llm:
            check_llm_conn_id(self.llm_conn_id)
