"""``CanaryRolloutOperator``: the Argo-style step loop, deferring to the triggerer between steps.

For each step: set the challenger weight on the backend, defer to ``CanaryBakeTrigger`` (no worker
slot held while traffic accumulates), then, back on a worker, read the window's raw samples, analyse
them (include/canary/analysis.py) and decide (include/canary/policy.py): advance, re-bake, roll back
(challenger weight 0 at once) or promote (challenger weight 100). Every window is saved to the
report folder as it is analysed, so the report exists whatever happens later.

Any unexpected error sends all traffic back to the champion before the task fails: an unhealthy
rollout never stays half-shifted.

Returns (XCom) ``{"decision": "promote"|"rollback", "steps": [...], "policy": {...}, ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from genai_airflow.canary.triggers import CanaryBakeTrigger

log = logging.getLogger(__name__)


class CanaryRolloutOperator(BaseOperator):
    template_fields: Sequence[str] = ("stack", "backend_conn_id", "target", "report_uri", "policy")
    ui_color = "#fde68a"

    def __init__(self, *, stack: Any = None, backend_conn_id: str | None = None, target: Any = None,
                 report_uri: Any = None, policy: dict[str, Any] | None = None, poll_seconds: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stack = stack
        self.backend_conn_id = backend_conn_id
        self.target = target
        self.report_uri = report_uri
        self.policy = policy  # the plan's policy dict (an XComArg); None: the run's Params through CanaryConfig
        self.poll_seconds = poll_seconds

    # -- helpers -------------------------------------------------------------------------------
    def _policy(self, context: Any):
        from include.canary.config import CanaryConfig
        from include.canary.policy import CanaryPolicy

        if self.policy is not None:
            return CanaryPolicy.from_dict(dict(self.policy))
        return CanaryConfig.from_params(context["params"]).policy()

    def _backend(self, context: Any):
        """The backend the setup recorded (its stack: router URL, or cloud connection and target)."""
        from include.canary.backends import backend_for

        stack = self.stack or {}
        conn_id = self.backend_conn_id if self.backend_conn_id is not None else stack.get("conn_id")
        target = self.target if self.target is not None else stack.get("target")
        return backend_for(conn_id or None, dict(target or {}), stack)

    def _fail_safe(self, backend: Any, exc: BaseException) -> None:
        log.error("rollout error (%s): sending all traffic back to the champion", exc)
        try:
            backend.set_challenger_weight(0)
        except Exception as inner:  # noqa: BLE001 - report both; the original error is raised
            log.error("could not reset traffic to the champion: %s", inner)

    # -- the loop ------------------------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        from include.canary.policy import RolloutState

        policy = self._policy(context)
        log.info("canary policy: %s", policy.to_dict())
        return self._start_step(context, policy, RolloutState())

    def _start_step(self, context: Any, policy: Any, state: Any) -> dict[str, Any]:
        backend = self._backend(context)
        weight = policy.steps[state.step_index]
        try:
            marker = backend.set_challenger_weight(weight)
            spec = backend.wait_spec(marker)
        except Exception as exc:
            self._fail_safe(backend, exc)
            raise
        log.info("step %s/%s: challenger at %s%% (attempt %s); baking", state.step_index + 1, len(policy.steps),
                 weight, state.attempt)
        self.defer(
            trigger=CanaryBakeTrigger(weight=weight, bake_seconds=policy.bake_seconds,
                                      max_step_seconds=policy.max_step_seconds, min_requests=policy.min_requests,
                                      counts_url=spec.get("counts_url"), stack_host=spec.get("host"),
                                      poll_seconds=self.poll_seconds,
                                      state={"rollout": state.to_dict(), "marker": marker},
                                      max_error_rate=policy.max_error_rate if policy.early_abort else None,
                                      alpha=policy.alpha if policy.early_abort else None),
            method_name="bake_complete",
        )
        raise AssertionError("defer() raises TaskDeferred")  # pragma: no cover

    def bake_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        from include.canary.policy import RolloutState

        policy = self._policy(context)
        state = RolloutState.from_dict(event["state"]["rollout"])
        backend = self._backend(context)
        try:
            return self._analyse(context, policy, state, backend, event)
        except Exception as exc:
            self._fail_safe(backend, exc)
            raise

    def _analyse(self, context: Any, policy: Any, state: Any, backend: Any, event: dict[str, Any]) -> dict[str, Any]:
        from include.canary import report
        from include.canary.analysis import evaluate_step
        from include.canary.policy import next_action

        weight = policy.steps[state.step_index]
        champion, challenger, end_marker = backend.window(event["state"]["marker"])
        baseline = report.load_baseline(self.report_uri, state.results)
        verdict = evaluate_step(policy, weight, champion, challenger, baseline)
        if event.get("error"):
            verdict["reasons"].append(event["error"])
        window_uri = report.save_window(self.report_uri, state.step_index + 1, state.attempt, weight,
                                        champion, challenger)
        result = {"step": state.step_index + 1, "weight": weight, "attempt": state.attempt,
                  "status": verdict["status"], "reasons": verdict["reasons"], "checks": verdict["checks"],
                  "champion": verdict["champion"], "challenger": verdict["challenger"],
                  "compared_with": verdict["compared_with"], "bake_s": event.get("elapsed_s"),
                  "early_abort": bool(event.get("early_abort")),
                  "window_uri": window_uri, "start_marker": event["state"]["marker"], "end_marker": end_marker}
        state.results.append(result)
        log.info("step %s at %s%%: %s %s | champion %s | challenger %s", result["step"], weight, verdict["status"],
                 verdict["reasons"], verdict["champion"], verdict["challenger"])
        action = next_action(policy, state, verdict["status"])
        if action in ("advance", "retry"):
            return self._start_step(context, policy, state)
        final_weight = 100 if action == "promote" else 0
        decision_marker = backend.set_challenger_weight(final_weight)
        outcome = {"decision": action, "final_challenger_weight": final_weight, "decision_marker": decision_marker,
                   "failed_step": None if action == "promote" else result["step"],
                   "reasons": [] if action == "promote" else result["reasons"],
                   "steps": state.results, "policy": policy.to_dict(), "backend": backend.kind}
        log.info("canary decision: %s (challenger weight -> %s%%)", action, final_weight)
        return outcome
