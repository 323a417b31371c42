"""The generated labeled sentiment set: template sentences about product aspects, each with a known label.

Why here, in the sentiment package: the demo feedback export (``include.demo.feedback``) composes its
texts from these templates, and the champion (trained on the real corpus, :mod:`include.sentiment.corpus`)
takes a small generated supplement so it also knows the language it later scores in the demo; the demo
imports them from here, never the other way round. Same seed, same texts.

Honest held-out split (:func:`template_split`): the last template of each label (:data:`HELD_OUT`) is
reserved, training rows are composed *only* from the other templates and held-out rows *only* from the
reserved ones, so no held-out row shares a sentence template with any training row. (Splitting the rows of
:func:`labeled_examples` instead leaks: a 1-3 sentence row that uses one reserved template mostly uses
training templates too.)
"""

from __future__ import annotations

import numpy as np

from include.sentiment import LABELS

ASPECTS = ("delivery", "support team", "price", "mobile app", "product quality", "billing", "checkout")

PHRASES: dict[str, tuple[str, ...]] = {
    "negative": (
        "The {a} was a disappointment and nobody fixed it.",
        "Terrible experience with the {a}, I want a refund.",
        "Really unhappy: the {a} keeps failing every week.",
        "Worst {a} I have dealt with, slow and rude.",
        "I am cancelling because the {a} is broken again.",
        "Awful. The {a} wasted two hours of my day.",
    ),
    "neutral": (
        "The {a} was fine, nothing special.",
        "I used the {a} today; it did what it says.",
        "No strong opinion on the {a} so far.",
        "The {a} is okay, about what I expected.",
        "Just noting that the {a} changed last month.",
        "Average {a}, neither good nor bad.",
    ),
    "positive": (
        "Great {a}, fast and friendly!",
        "I love the new {a}, thank you so much.",
        "The {a} exceeded my expectations, excellent work.",
        "Fantastic {a}; I will recommend you to friends.",
        "Very happy with the {a}, it just works.",
        "Superb {a}, quick and helpful as always.",
    ),
}


#: Templates (index into each label's :data:`PHRASES`) reserved for the held-out split: the last one per label.
HELD_OUT = -1


def compose_text(rng: np.random.Generator, label: str, phrases: dict[str, tuple[str, ...]] | None = None) -> str:
    """One to three sentences of the given sentiment about random aspects (from ``phrases``, default all)."""
    pool = (phrases or PHRASES)[label]
    n = int(rng.integers(1, 4))
    sentences = [rng.choice(pool).format(a=rng.choice(ASPECTS)) for _ in range(n)]
    return " ".join(sentences)


def template_split_phrases() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """(training templates, held-out templates) per label: disjoint."""
    train = {label: tuple(p for i, p in enumerate(ps) if i != len(ps) + HELD_OUT) for label, ps in PHRASES.items()}
    held = {label: (ps[HELD_OUT],) for label, ps in PHRASES.items()}
    return train, held


def template_split(n_train: int, n_holdout: int, seed: int = 7) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held-out) (text, label) pairs, balanced labels, composed from disjoint templates (module doc)."""
    rng = np.random.default_rng(seed)
    train_phrases, held_phrases = template_split_phrases()
    train = [(compose_text(rng, LABELS[i % 3], train_phrases), LABELS[i % 3]) for i in rng.permutation(n_train)]
    held = [(compose_text(rng, LABELS[i % 3], held_phrases), LABELS[i % 3]) for i in rng.permutation(n_holdout)]
    return train, held


def labeled_examples(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` (text, label) pairs with balanced labels: a labeled set for training and evaluation."""
    rng = np.random.default_rng(seed)
    return [(compose_text(rng, LABELS[i % 3]), LABELS[i % 3]) for i in rng.permutation(n)]
