"""The quality gate: what an output must satisfy to be published, each failure a reason in words.

Rules (Params in :class:`~include.textgen.config.GenerationConfig`'s "Quality gate" section):

* non-empty, and ``min_chars`` <= length <= ``max_chars`` after post-processing;
* repetition: the share of 3-grams (words and punctuation marks, as in
  :func:`include.llm.evaluation.repetition_rate`) repeating an earlier 3-gram <= ``max_repetition``;
* perplexity of the output given its prompt under ``reference_model`` <= ``max_perplexity``. The
  default reference is the champion itself: it flags text the model finds improbable (hot sampling,
  a hosted model wandering off the domain), it does not judge whether the text is *good*;
* none of ``banned_terms`` (case-insensitive; alphanumeric terms match whole words only, so "ass" does
  not ban "class"; others, such as "http://", match anywhere).

An output failing any rule is quarantined with all of its reasons and never reaches the warehouse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from include.llm.evaluation import repetition_rate


@dataclass(frozen=True)
class GateRules:
    min_chars: int
    max_chars: int
    max_repetition: float
    max_perplexity: float | None  # None: no reference model, no perplexity rule
    banned_terms: tuple[str, ...] = ()


def banned_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    parts = [rf"(?<!\w){re.escape(t)}(?!\w)" if re.fullmatch(r"\w+", t) else re.escape(t)
             for t in terms if t]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def repetition(text: str) -> float:
    return repetition_rate([text])


def reasons(text: str, perplexity: float | None, rules: GateRules,
            banned: re.Pattern[str] | None = None) -> list[str]:
    """Every rule ``text`` breaks ([] = publish)."""
    out = []
    if not text:
        return ["empty output after post-processing"]
    if len(text) < rules.min_chars:
        out.append(f"output of {len(text)} characters is shorter than min_chars {rules.min_chars}")
    if len(text) > rules.max_chars:
        out.append(f"output of {len(text)} characters is longer than max_chars {rules.max_chars}")
    rep = repetition(text)
    if rep > rules.max_repetition:
        out.append(f"repetition {rep:.2f} above max_repetition {rules.max_repetition}")
    if rules.max_perplexity is not None and perplexity is not None and perplexity > rules.max_perplexity:
        out.append(f"perplexity {perplexity:.1f} above max_perplexity {rules.max_perplexity}")
    found = banned.findall(text) if banned else []
    if found:
        out.append(f"banned terms: {sorted({f.lower() for f in found})}")
    return out
