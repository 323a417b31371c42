"""``SeedConfig``: every knob of the ``seed_demo_data`` DAG, in one typed, frozen home.

The DAG's trigger form is ``SeedConfig.params()``; each task reads the run's Params with
``SeedConfig.from_params(params)`` (validated: a bad value fails the task naming the Param) and
passes the fields to its writer in :mod:`include.demo.writers`. Defaults, bounds and descriptions
live here only (the docs' Param table is generated from them).
"""

from __future__ import annotations

from dataclasses import dataclass

from include.platform.config import DagConfig, knob

SIZES = "What to write"
FEEDBACK = "Customer feedback"
LAKE = "Target lake"


@dataclass(frozen=True)
class SeedConfig(DagConfig):
    """What one run of ``seed_demo_data`` writes, and where it may write it."""

    seed: int = knob(42, "Random seed of every generator: same seed, same files.", section=SIZES)
    customer_rows: int = knob(20_000, "Rows of the demo customer table.", section=SIZES,
                              minimum=100, maximum=1_000_000)
    pending_requests: int = knob(25, "Inference requests left pending, for batch_inference to score (the autoscaling monitor sizes its pool).",
                                 section=SIZES, minimum=0, maximum=10_000)

    days: int = knob(3, "Days of customer feedback to write, ending at the run's logical date.",
                     section=FEEDBACK, minimum=1, maximum=30)
    feedback_per_day: int = knob(400, "Feedback records per day (before malformed lines and duplicates).",
                                 section=FEEDBACK, minimum=0, maximum=100_000)
    malformed_share: float = knob(0.03, "Share of feedback lines written malformed, to exercise the quarantine.",
                                  section=FEEDBACK, minimum=0, maximum=1)

    allow_other_lake: bool = knob(False, "Seed a lake other than the default local one (Variable genai_lake_root "
                                         "set, e.g. a bucket). Off: such a run fails at check_lake. Existing "
                                         "objects are never overwritten either way.", section=LAKE)
