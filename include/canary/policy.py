"""The canary policy (what a rollout must prove at each traffic step) and the step state machine.

Modelled on Argo Rollouts' ``steps: setWeight / pause / analysis`` with ``failureLimit`` and on
Flagger's ``stepWeight``/``threshold``: the same policy drives every backend (local router,
SageMaker, ELB, Vertex AI, Azure ML), so a rollout behaves the same on a laptop and in a cloud.

The run's Params become a policy through :meth:`include.canary.config.CanaryConfig.policy`; the
policy travels to the rollout operator as a plain dict (:meth:`CanaryPolicy.to_dict` / ``from_dict``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["advance", "retry", "rollback", "promote"]


class PolicyError(ValueError):
    """An invalid policy; the message names the Param to fix."""


@dataclass(frozen=True)
class CanaryPolicy:
    #: Challenger traffic share (percent) at each step; each step bakes before the next.
    steps: tuple[int, ...] = (10, 25, 50, 100)
    #: Minimum seconds of traffic at a step before it is analysed.
    bake_seconds: float = 60.0
    #: Minimum challenger requests (and champion requests, below 100%) a step needs to be analysed.
    min_requests: int = 100
    #: Seconds a step may wait for ``min_requests``; past it the step is "no data" and fails safe.
    max_step_seconds: float = 600.0
    #: Absolute ceiling on the challenger error rate (the article's 5%).
    max_error_rate: float = 0.05
    #: Absolute ceiling on the challenger p95 latency, in milliseconds.
    max_p95_latency_ms: float = 500.0
    #: Challenger p95 may be at most this multiple of the champion's p95 over the same window...
    max_latency_ratio: float = 1.5
    #: ...and at most this many ms slower (so sub-millisecond jitter on fast models never fails a step).
    min_latency_delta_ms: float = 10.0
    #: Significance level of the one-sided tests (two-proportion z-test, Mann-Whitney U).
    alpha: float = 0.01
    #: Failed or inconclusive analyses tolerated (each re-bakes the step) before rolling back.
    failure_limit: int = 0
    #: End a bake early once the challenger's errors are significantly above ``max_error_rate``.
    early_abort: bool = True
    #: Significance level of the one-sided accuracy z-test on labelled requests (challenger below champion).
    accuracy_alpha: float = 0.01
    #: ...and the accuracy drop (0.02 = 2 points) that must also be exceeded before a step fails.
    max_accuracy_drop: float = 0.02
    #: What a graded answer measures: ``accuracy`` (a classifier's label) or ``quality`` (a text
    #: generator's quality-gate pass rate); names the check (``<graded_as>_vs_champion_ztest``). Set by
    #: ``plan`` from the challenger's serving kind, not a Param.
    graded_as: str = "accuracy"

    def __post_init__(self) -> None:
        steps = tuple(int(s) for s in self.steps)
        object.__setattr__(self, "steps", steps)
        if not steps:
            raise PolicyError("steps: give at least one traffic step, e.g. [10, 25, 50, 100]")
        if any(not 0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)):
            raise PolicyError(f"steps must be strictly increasing percentages in 1..100, got {list(steps)}")
        if not 0 < self.max_error_rate < 1:
            raise PolicyError("max_error_rate must be between 0 and 1 (0.05 = 5%)")
        if self.min_requests < 1 or self.bake_seconds < 0 or self.failure_limit < 0:
            raise PolicyError("min_requests >= 1, bake_seconds >= 0 and failure_limit >= 0 are required")
        if self.max_step_seconds < self.bake_seconds:
            raise PolicyError("max_step_seconds must be at least bake_seconds")
        if not 0 < self.alpha < 0.5 or not 0 < self.accuracy_alpha < 0.5:
            raise PolicyError("alpha and accuracy_alpha must be in (0, 0.5)")
        if self.graded_as not in ("accuracy", "quality"):
            raise PolicyError(f"graded_as must be 'accuracy' or 'quality', got {self.graded_as!r}")
        if not 0 <= self.max_accuracy_drop < 1:
            raise PolicyError("max_accuracy_drop must be in [0, 1) (0.02 = 2 points)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CanaryPolicy:
        """The policy :meth:`to_dict` wrote (the rollout operator's copy)."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"steps": list(self.steps)}


@dataclass
class RolloutState:
    """Where a rollout is; small and JSON-serialisable, carried through deferrals."""

    step_index: int = 0
    attempt: int = 1
    failures: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RolloutState:
        return cls(**data)


def next_action(policy: CanaryPolicy, state: RolloutState, step_status: str) -> Action:
    """Decide what follows a step's analysis (``pass`` / ``fail`` / ``inconclusive``) and update ``state``.

    "Inconclusive" (not enough data) counts as a failure: a canary that cannot be measured is not
    promoted (fail safe). Each failure within ``failure_limit`` re-bakes the same step.
    """
    if step_status == "pass":
        if state.step_index >= len(policy.steps) - 1:
            return "promote"
        state.step_index += 1
        state.attempt = 1
        return "advance"
    state.failures += 1
    if state.failures > policy.failure_limit:
        return "rollback"
    state.attempt += 1
    return "retry"
