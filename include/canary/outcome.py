"""The canary's verdict, recorded through the platform lifecycle (one step function for one DAG task).

The rollout (``CanaryRolloutOperator``) decides *promote* or *rollback* from live traffic; this step
turns that into the registry's one vocabulary (:mod:`include.platform.lifecycle`):

* promote → the challenger becomes ``champion``, the old champion ``retired`` (alias ``previous``);
* rollback → the challenger is ``rolled_back`` (it served live traffic and was withdrawn) and loses
  the ``challenger`` alias, so a rerun cannot serve it again; one alert, with the failed step;
* no outcome (the rollout task failed or its worker died) → ``undecided``: aliases and status stay,
  the attempt is recorded; no second alert, the failed task already sent its failure alert.

The canary is the only promotion path of a model handed to it: a trainer that hands a challenger
over (``hand_to_canary``) does not move the champion itself.
"""

from __future__ import annotations

from typing import Any

#: The task whose decision this step records (status_details["decided_by"]).
DECIDED_BY = "canary_deploy.rollout"
_STEP_KEYS = ("step", "weight", "attempt", "status", "reasons", "champion", "challenger")


def _decisive_metrics(outcome: dict[str, Any]) -> dict[str, Any]:
    """Challenger and champion figures of the last analysed window (the one the decision rests on)."""
    steps = outcome.get("steps") or []
    if not steps:
        return {}
    last = steps[-1]
    out: dict[str, Any] = {"step": last.get("step"), "weight": last.get("weight")}
    for role in ("challenger", "champion"):
        summary = last.get(role) or {}
        out |= {f"{role}_{k}": summary.get(k) for k in ("n", "error_rate", "p95_ms")}
    return out


def verdict_for(outcome: dict[str, Any] | None, planned: dict[str, Any], run_id: str) -> Any:
    """The lifecycle :class:`~include.platform.lifecycle.Verdict` of a rollout's outcome (None = crashed)."""
    from include.platform.lifecycle import Verdict

    evidence: dict[str, Any] = {"report": planned.get("report_uri"), "run_id": run_id,
                                "champion_version": planned.get("champion")}
    if not outcome:
        return Verdict("undecided", DECIDED_BY, metrics={},
                       reasons=("the rollout task failed before a decision; traffic was reset to the champion",),
                       evidence=evidence)
    evidence |= {"backend": outcome.get("backend"), "failed_step": outcome.get("failed_step"),
                 "final_challenger_weight": outcome.get("final_challenger_weight"),
                 "steps": [{k: s.get(k) for k in _STEP_KEYS} for s in outcome.get("steps", [])]}
    metrics = _decisive_metrics(outcome)
    if outcome["decision"] == "promote":
        n = len(outcome.get("steps", []))
        return Verdict("promote", DECIDED_BY, metrics=metrics, evidence=evidence,
                       reasons=(f"passed every traffic step ({n} analysed windows)",))
    return Verdict("rollback", DECIDED_BY, metrics=metrics, evidence=evidence,
                   reasons=tuple(outcome.get("reasons") or [f"rolled back at step {outcome.get('failed_step')}"]))


def record_outcome(planned: dict[str, Any], outcome: dict[str, Any] | None, run_id: str,
                   context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply the rollout's decision to ``planned["model"]/planned["challenger"]``; the task's return value.

    ``action`` is the sentence the report prints; ``asset_extra`` is the lifecycle's
    ``{model, version, kind, status, decision, metrics}``.
    """
    from include.platform import lifecycle

    model, version, champion = planned["model"], planned["challenger"], planned["champion"]
    applied = lifecycle.apply_verdict(model, version, verdict_for(outcome, planned, run_id), context=context,
                                      note=f"Report: {planned.get('report_uri')}")
    if applied.decision == "promote":
        action = f"promoted {model}/{version} to champion (previous: {champion})"
    elif applied.decision == "rollback":
        action = f"rolled back: {model}/{version} marked {applied.status}; champion {champion} kept"
    else:
        action = f"rollout aborted: {model}/{version} left {applied.status} (undecided); champion kept"
    return {"action": action, "decision": outcome["decision"] if outcome else "aborted",
            "status": str(applied.status), "asset_extra": applied.extra}
