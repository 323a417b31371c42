"""Post-processing of a raw generation, before the quality gate: stop sequences, whitespace, repeats.

Order matters: cut at the first stop sequence first (what follows it was never meant to be output),
then normalise whitespace, then drop sentences that repeat an earlier sentence of the same output (a
small model's typical loop: "it is so soft. it is so soft. it is so soft."). The steps applied are
returned so the warehouse row says what was changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")
#: A sentence ends at . ! ? (runs of them) followed by space or the end.
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")


@dataclass(frozen=True)
class Cleaned:
    text: str
    steps: tuple[str, ...]  # e.g. ("stop_sequence", "dedupe")


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to (not including) the earliest stop sequence; whether one was found."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


def dedupe_sentences(text: str) -> tuple[str, bool]:
    """``text`` without sentences that repeat an earlier one (case- and space-insensitive)."""
    seen: set[str] = set()
    kept: list[str] = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        if not sentence:
            continue
        key = _SPACE.sub(" ", sentence.lower()).strip(" .!?")
        if key in seen:
            continue
        seen.add(key)
        kept.append(sentence)
    out = " ".join(kept)
    return out, out != _SPACE.sub(" ", text).strip()


def clean(text: str, stops: Sequence[str] = ()) -> Cleaned:
    steps = []
    text, cut = cut_at_stop(text, stops)
    if cut:
        steps.append("stop_sequence")
    text = _SPACE.sub(" ", text).strip()
    text, deduped = dedupe_sentences(text)
    if deduped:
        steps.append("dedupe")
    return Cleaned(text, tuple(steps))
