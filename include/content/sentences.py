"""Sentences of a retrieved chunk, and of a draft: the unit the composer picks and the gate checks.

Why a regex rather than a sentence-segmentation library: none is installed (nltk's punkt needs a data
download, pysbd/blingfire are not in the environment), and chunk bodies are our own extractor's output —
paragraphs of prose, list items and code blocks — so the rule stays short: code fences and table rows are
dropped, list markers and heading hashes stripped, text is split after ``. ! ?`` followed by white space
and a capital, digit, quote or backtick. A *quotable* sentence (what the extractive composer may use)
additionally starts like a sentence (not a fragment left by the chunker's word overlap), ends with a
full stop, and has 5-60 words.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"```.*?(```|$)", re.DOTALL)
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'`(\[])")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)]|#+)\s+")
_STARTS = re.compile(r"^[A-Z0-9\"'`(\[]")


def split(text: str) -> list[str]:
    """Every sentence of ``text`` (prose order), stripped; code blocks and table rows left out."""
    text = _FENCE.sub("\n", text)
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        lines = [_LIST.sub("", ln).strip() for ln in para.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("|")]
        if not lines:
            continue
        joined = " ".join(lines)
        out += [s.strip() for s in _SPLIT.split(joined) if s.strip()]
    return out


def quotable(sentence: str) -> bool:
    """A sentence the composer may quote as is: starts like one, ends with a stop, 5-60 words."""
    words = sentence.split()
    return (5 <= len(words) <= 60 and bool(_STARTS.match(sentence)) and sentence.endswith((".", "!", "?"))
            and not sentence.endswith("::"))


def words(text: str) -> int:
    return len(text.split())
