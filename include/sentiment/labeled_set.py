"""The shipped labeled sentiment set: template sentences about product aspects, each with a known label.

Why here, in the sentiment package: the set is the default training data of the sentiment champion
(``include.sentiment.training``) and its structure is part of the evaluation: the last template of
each label is held out, so the reported macro-F1 measures unseen wording. The demo feedback export
(``include.demo.feedback``) composes its texts from the same templates, so the champion is trained on
the language it later scores; it imports them from here, never the other way round.
Same seed, same texts.
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


def compose_text(rng: np.random.Generator, label: str) -> str:
    """One to three sentences of the given sentiment about random aspects."""
    n = int(rng.integers(1, 4))
    sentences = [rng.choice(PHRASES[label]).format(a=rng.choice(ASPECTS)) for _ in range(n)]
    return " ".join(sentences)


def labeled_examples(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` (text, label) pairs with balanced labels: a labeled set for training and evaluation."""
    rng = np.random.default_rng(seed)
    return [(compose_text(rng, LABELS[i % 3]), LABELS[i % 3]) for i in rng.permutation(n)]
