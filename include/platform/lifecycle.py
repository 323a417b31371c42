"""One model lifecycle for every pipeline: a verdict in, alias moves, one status, one alert, one event out.

Four pipelines used to decide a model's fate each in their own words (``promoted``, ``published``,
``rejected``, ``canary_failed``) with their own detail shapes, and each moved aliases and alerted
its own way. A reader of the registry (or of an asset event) could not tell, without knowing which
DAG wrote a manifest, whether a version was live. This module is the one place that turns a gate's
:class:`Verdict` into registry changes, so the answer is always read the same way.

**Status vocabulary** (:class:`Status`, the manifest's ``status``), one meaning each:

==============  ================================================================================
``registered``  uploaded, not judged yet (the registry's default)
``challenger``  holds the ``challenger`` alias: handed to the canary (or to the trainer's own gate)
``champion``    holds the ``champion`` alias: serves / is the published dataset
``retired``     replaced as champion; the one just replaced holds ``previous`` (the rollback target)
``rejected``    judged not good enough *before* serving live traffic (an offline gate)
``rolled_back`` withdrawn *after* serving live traffic (a canary rollback, or a champion rolled back)
==============  ================================================================================

A dataset (the synthetic generator whose sample was published) uses the same words with
``kind="dataset"``: publish is ``promote``, a failed quality gate is ``reject``.

**Decisions** (:data:`DECISIONS`): ``promote`` (→ champion, the old champion → retired/previous, in
one alias write), ``reject`` (→ rejected; a challenger alias on it is cleared so nothing serves it),
``hand_to_canary`` (→ challenger; champion untouched — the canary decides, not the trainer),
``rollback`` (withdraw from live traffic: a challenger loses its alias; a champion is replaced by
``previous``) and ``undecided`` (a judge that could not decide, e.g. a canary whose rollout crashed:
status unchanged, the attempt recorded).

**One detail shape** in every manifest's ``status_details``: ``{"kind", "decision", "decided_by"
(<dag>.<task>), "reasons": [...], "metrics": {name: number}, "evidence": {...}, "from" (previous
status), "at" (UTC ISO time)}``, plus where they apply ``champion`` (what serves instead of this
version), ``replaced`` / ``restored`` (the version a promotion retired or a rollback brought back)
and ``replaced_by``. Pipeline-specific material (canary steps, gate intervals) goes under
``evidence``, so ``reasons`` and ``metrics`` are always where a reader looks.

**One alert** on ``reject`` and ``rollback`` (news someone may act on), through
:func:`include.platform.notify.send_alert` with kind ``<kind>_<status>:<name>/<version>``: a retried
or rerun task reports the same decision once per (DAG, day), a *new* version's rejection is new news.
``promote`` emits an asset event instead; ``undecided`` does not alert because the failed task it
follows already sent its failure alert.

**One event**: :attr:`Applied.extra` is ``{"model", "version", "kind", "status", "decision",
"metrics"}``, what a task attaches to its outlet (``context["outlet_events"][asset].extra``) so a
consumer — ``canary_deploy`` reads ``model`` — knows what changed without reading the registry.

Order and retries: aliases move first (they decide what serves), statuses follow. Every step is
idempotent, so a retried task finishes what a killed attempt began; a version already rejected or
rolled back cannot be promoted or handed to a canary again (a verdict is final: register a new
version). Aliases and manifests are written only through :mod:`include.platform.registry`'s public
API, under its lease.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args

from include.platform import registry
from include.platform.errors import PermanentError

log = logging.getLogger(__name__)


class Status(StrEnum):
    """The manifest ``status`` of every model and dataset version (see the module docstring)."""

    REGISTERED = "registered"
    CHALLENGER = "challenger"
    CHAMPION = "champion"
    RETIRED = "retired"
    REJECTED = "rejected"
    ROLLED_BACK = "rolled_back"


Decision = Literal["promote", "reject", "hand_to_canary", "rollback", "undecided"]
DECISIONS: tuple[str, ...] = get_args(Decision)
Kind = Literal["model", "dataset"]
KINDS: tuple[str, ...] = get_args(Kind)

#: Statuses no later verdict may turn into champion or challenger: register a new version instead.
FINAL = (Status.REJECTED, Status.ROLLED_BACK)
#: Decisions that send the one alert.
ALERTING = ("reject", "rollback")


class LifecycleError(PermanentError):
    """A verdict that cannot apply to this version (rejecting the champion, promoting a rejected one)."""


def _numbers(values: Mapping[str, Any] | None) -> dict[str, float]:
    """Finite numbers only: metrics travel in manifests and asset events, which must stay plain JSON."""
    out: dict[str, float] = {}
    for key, value in (values or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[str(key)] = float(value)
    return out


def _json_safe(value: Any) -> Any:
    """Evidence as plain JSON: mappings with string keys, lists, finite numbers, strings (else ``str``)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass(frozen=True)
class Verdict:
    """What a judge decided about one version, and why.

    ``decided_by`` names the judge as ``<dag_id>.<task_id>`` (where to look for the full analysis);
    ``reasons`` are sentences a person reads; ``metrics`` are the numbers the decision rested on;
    ``evidence`` is anything else worth keeping (gate intervals, canary steps, report URIs).
    """

    decision: str
    decided_by: str
    reasons: tuple[str, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"unknown decision {self.decision!r}; expected one of {DECISIONS}")
        if not self.decided_by:
            raise ValueError("a verdict names who decided it (decided_by='<dag_id>.<task_id>')")
        reasons = (self.reasons,) if isinstance(self.reasons, str) else tuple(self.reasons)
        if self.decision in ALERTING and not reasons:
            raise ValueError(f"a {self.decision} verdict must say why (reasons)")
        object.__setattr__(self, "reasons", tuple(str(r) for r in reasons))
        object.__setattr__(self, "metrics", _numbers(self.metrics))
        object.__setattr__(self, "evidence", _json_safe(dict(self.evidence)))


@dataclass(frozen=True)
class Applied:
    """What :func:`apply_verdict` (or :func:`register`) changed."""

    name: str
    version: str
    kind: str
    decision: str
    status: Status
    details: dict[str, Any]
    aliases: dict[str, str]
    alert: dict[str, Any] | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def extra(self) -> dict[str, Any]:
        """The asset-event ``extra``: which version changed, to what, on which numbers."""
        return {"model": self.name, "version": self.version, "kind": self.kind, "status": str(self.status),
                "decision": self.decision, "metrics": dict(self.details.get("metrics", {}))}


def details(verdict: Verdict, *, kind: str, previous: str) -> dict[str, Any]:
    """The one ``status_details`` shape (see the module docstring)."""
    return _shape(kind, verdict.decision, verdict.decided_by, verdict.reasons, verdict.metrics, verdict.evidence,
                  previous)


def _shape(kind: str, decision: str, decided_by: str, reasons: tuple[str, ...] | list[str],
           metrics: Mapping[str, float], evidence: Mapping[str, Any], previous: str) -> dict[str, Any]:
    return {"kind": kind, "decision": decision, "decided_by": decided_by, "reasons": list(reasons),
            "metrics": _numbers(metrics), "evidence": _json_safe(dict(evidence)), "from": previous,
            "at": datetime.now(UTC).isoformat(timespec="seconds")}


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    return kind


# -- register ------------------------------------------------------------------------------------------
def register(name: str, local_dir: str | Path, *, registered_by: str, metadata: Mapping[str, Any] | None = None,
             metrics: Mapping[str, float] | None = None, kind: Kind = "model",
             challenger: bool = False) -> registry.ModelVersion:
    """Register the next version of ``name``: status ``registered``, or ``challenger`` with its alias.

    ``challenger=True`` points the ``challenger`` alias at the new version (the candidate a gate or
    the canary compares with the champion). The champion is never moved here: that takes a verdict.
    """
    _check_kind(kind)
    meta = {"kind": kind, "registered_by": registered_by} | dict(metadata or {})
    mv = registry.register_model(name, local_dir, metadata=meta, metrics=dict(metrics or {}),
                                 alias="challenger" if challenger else None)
    status = Status.CHALLENGER if challenger else Status.REGISTERED
    reason = "registered as the challenger" if challenger else "registered"
    return registry.set_status(name, mv.version, status,
                               _shape(kind, "register", registered_by, [reason], mv.metrics, {}, ""))


# -- apply a verdict ---------------------------------------------------------------------------------
def apply_verdict(name: str, version: str | int, verdict: Verdict, *, kind: Kind = "model",
                  context: Mapping[str, Any] | None = None, note: str = "") -> Applied:
    """Apply ``verdict`` to ``name/version``: alias moves, status and details, the alert; idempotent.

    ``context`` (a task context) lets the alert be de-duplicated per (DAG, day, kind); ``note`` is
    added to the alert's body (e.g. "follow-up search round 2 requested").
    """
    _check_kind(kind)
    mv = registry.get_version(name, version)
    version = mv.version
    current = registry.aliases(name)
    _refuse_impossible(mv, verdict, current)
    shape = details(verdict, kind=kind, previous=str(mv.status))
    apply = {"promote": _promote, "reject": _reject, "hand_to_canary": _hand_to_canary,
             "rollback": _rollback, "undecided": _undecided}[verdict.decision]
    status = apply(mv, verdict, shape, current)
    mapping = registry.aliases(name)
    if mapping.get("champion") not in (None, version):
        shape["champion"] = mapping["champion"]  # what serves instead of this version
    registry.set_status(name, version, status, shape)
    log.info("%s/%s: %s by %s -> %s (aliases %s); %s", name, version, verdict.decision, verdict.decided_by,
             status, mapping, "; ".join(verdict.reasons))
    alert = _alert(name, version, kind, status, verdict, mapping, context, note) \
        if verdict.decision in ALERTING else None
    return Applied(name=name, version=version, kind=kind, decision=verdict.decision, status=status,
                   details=shape, aliases=mapping, alert=alert)


def _refuse_impossible(mv: registry.ModelVersion, verdict: Verdict, current: dict[str, str]) -> None:
    is_champion = current.get("champion") == mv.version
    if verdict.decision in ("promote", "hand_to_canary") and mv.status in FINAL:
        raise LifecycleError(
            f"{mv.ref} was {mv.status} ({mv.status_details.get('decided_by', 'earlier')}); a verdict is final",
            "register a new version and judge that one")
    if verdict.decision in ("reject", "hand_to_canary") and is_champion:
        action = "rejected" if verdict.decision == "reject" else "handed to a canary"
        raise LifecycleError(f"{mv.ref} is the champion: it cannot be {action}",
                             "roll it back (decision 'rollback') to restore the previous champion")
    if verdict.decision == "rollback" and is_champion and "previous" not in current:
        raise LifecycleError(f"{mv.ref} is the champion and there is no previous version to roll back to",
                             "promote another version instead")


def _promote(mv: registry.ModelVersion, verdict: Verdict, shape: dict[str, Any], current: dict[str, str]) -> Status:
    """champion → previous, version → champion (one alias write); the replaced champion is retired."""
    mapping = registry.promote(mv.name, mv.version)
    replaced = mapping.get("previous")
    if replaced and replaced != mv.version:
        old = registry.get_version(mv.name, replaced)
        if old.status not in (Status.RETIRED, *FINAL):  # a retry finds it retired already
            registry.set_status(mv.name, replaced, Status.RETIRED, details(
                Verdict("promote", verdict.decided_by, reasons=(f"replaced as champion by {mv.ref}",),
                        metrics=old.metrics), kind=shape["kind"], previous=str(old.status))
                | {"replaced_by": mv.version})
        shape["replaced"] = replaced
    return Status.CHAMPION


def _clear_challenger(mv: registry.ModelVersion) -> None:
    if registry.aliases(mv.name).get("challenger") == mv.version:
        registry.clear_alias(mv.name, "challenger")


def _reject(mv: registry.ModelVersion, verdict: Verdict, shape: dict[str, Any], current: dict[str, str]) -> Status:
    _clear_challenger(mv)
    return Status.REJECTED


def _hand_to_canary(mv: registry.ModelVersion, verdict: Verdict, shape: dict[str, Any],
                    current: dict[str, str]) -> Status:
    if current.get("challenger") != mv.version:
        registry.set_alias(mv.name, "challenger", mv.version)
    return Status.CHALLENGER


def _rollback(mv: registry.ModelVersion, verdict: Verdict, shape: dict[str, Any], current: dict[str, str]) -> Status:
    """Withdraw from live traffic: a challenger loses its alias; a champion gives way to ``previous``."""
    if current.get("champion") == mv.version:
        restored = current["previous"]
        registry.set_alias(mv.name, "champion", restored)
        registry.clear_alias(mv.name, "previous")
        back = registry.get_version(mv.name, restored)
        registry.set_status(mv.name, restored, Status.CHAMPION, details(
            Verdict("rollback", verdict.decided_by, reasons=(f"restored as champion: {mv.ref} rolled back",),
                    metrics=back.metrics), kind=shape["kind"], previous=str(back.status)))
        shape["restored"] = restored
    else:
        _clear_challenger(mv)
    return Status.ROLLED_BACK


def _undecided(mv: registry.ModelVersion, verdict: Verdict, shape: dict[str, Any],
               current: dict[str, str]) -> Status:
    """No judgement: aliases stay, the status stays, the attempt is recorded in the details.

    A manifest written before this vocabulary (``promoted``, ``canary_failed`` ...) is read by its
    aliases: challenger if it holds that alias, else registered.
    """
    if mv.status in Status._value2member_map_:
        return Status(mv.status)
    return Status.CHALLENGER if current.get("challenger") == mv.version else Status.REGISTERED


def _alert(name: str, version: str, kind: str, status: Status, verdict: Verdict, aliases: Mapping[str, str],
           context: Mapping[str, Any] | None, note: str) -> dict[str, Any]:
    from include.platform.notify import Alert, send_alert

    what = f"{'dataset ' if kind == 'dataset' else ''}{name} v{version}"
    champion = aliases.get("champion")
    lines = [f"{what} {status.replace('_', ' ')} by {verdict.decided_by}.", "", *verdict.reasons, ""]
    if verdict.metrics:
        lines.append("Metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in verdict.metrics.items()))
    lines.append(f"Champion: v{champion}." if champion else "No champion.")
    if note:
        lines.append(note)
    alert = Alert(subject=f"{what} {status.replace('_', ' ')}: {verdict.reasons[0]}"[:200],
                  body="\n".join(lines), severity="warning", kind=f"{kind}_{status}:{name}/{version}")
    return send_alert(alert, dict(context) if context else None).to_dict()
