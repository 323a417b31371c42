"""Matching a hosted LLM's structured answers back to the ids it was asked about.

Two rooms send a chunk of items to a hosted LLM and get a list of ``{id, ...}`` answers back (sentiment labels,
generated texts). Models drift: they invent ids, answer one twice, skip one. This is the one rule for all rooms:
keep the first answer per asked id, and name every other case as a problem, so the caller can quarantine it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

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
