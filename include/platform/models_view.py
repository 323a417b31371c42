"""The model registry as an analyst reads it: per model, versions, aliases and the decision history.

Read-only, through :mod:`include.platform.registry` (so it works on every lake backend and applies the
registry's own checks on names and manifests). The words are the shared lifecycle's
(:mod:`include.platform.lifecycle`): a version's ``status`` and ``status_details`` (decision,
decided_by, reasons, metrics, at) are what the Models page shows; nothing is recomputed here.

"Decision history": a manifest keeps the *latest* decision about its version (the lifecycle
rewrites ``status_details`` on each verdict), so the history of a model is the list of those
decisions across its versions, newest first — who promoted, rejected, handed over or rolled back
which version, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from include.platform import registry, storage


@dataclass(frozen=True)
class ModelSummary:
    name: str
    producer: str | None
    aliases: dict[str, str]
    versions: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def champion(self) -> str | None:
        return self.aliases.get("champion")


def model_names() -> list[str]:
    """Model folders in the registry (``models/<name>/``) whose names the registry accepts."""
    names = {rel.split("/", 1)[0] for rel, _ in storage.find_files(storage.zone("models"), "manifest.json")}
    return sorted(n for n in names if registry.NAME_PATTERN.fullmatch(n))


def _version_row(mv: registry.ModelVersion, by_version: dict[str, list[str]]) -> dict[str, Any]:
    details = mv.status_details or {}
    return {"version": mv.version, "status": mv.status, "created_at": mv.created_at,
            "aliases": by_version.get(mv.version, []), "metrics": dict(mv.metrics),
            "kind": details.get("kind") or mv.metadata.get("kind", "model"),
            "decision": details.get("decision"), "decided_by": details.get("decided_by"),
            "reasons": list(details.get("reasons") or []), "at": details.get("at")}


def summarize(name: str) -> ModelSummary:
    """One model: its versions (newest first) with status, metrics, aliases, and the decision history.

    A corrupt manifest or alias file does not hide the other models: the summary carries the error.
    """
    try:
        mapping = registry.aliases(name)
        versions = registry.list_versions(name)
    except registry.RegistryError as exc:
        return ModelSummary(name=name, producer=registry.producer_dag(name), aliases={}, error=str(exc))
    by_version: dict[str, list[str]] = {}
    for alias in registry.ALIASES:  # champion, challenger, previous: the order a reader expects
        if alias in mapping:
            by_version.setdefault(mapping[alias], []).append(alias)
    rows = [_version_row(mv, by_version) for mv in reversed(versions)]
    history = sorted((r for r in rows if r["decision"]), key=lambda r: (r["at"] or "", int(r["version"])),
                     reverse=True)
    return ModelSummary(name=name, producer=registry.producer_dag(name), aliases=mapping, versions=rows,
                        history=history)


def list_models() -> list[ModelSummary]:
    return [summarize(name) for name in model_names()]
