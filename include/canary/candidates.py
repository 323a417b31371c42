"""Which two models a canary compares: the version an event names (or ``@challenger``) vs ``@champion``.

An asset-triggered run canaries *exactly* the version its ``challenger_registered`` event names
(``extra = {"model", "version", ...}``, what :attr:`include.platform.lifecycle.Applied.extra` carries):
the challenger alias may have moved on since, and the canary must judge what the trainer handed
over. A manual run reads the aliases of Param ``model_name``. For the ``canary_demo`` family it can
bootstrap the aliases by training and registering small real models, so the DAG runs end to end on a
fresh checkout; any other model must have been registered by its own training pipeline.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from include.platform import registry
from include.platform.errors import ConfigError, PermanentError

log = logging.getLogger(__name__)

DEMO_MODEL = "canary_demo"


def _register_demo_version(name: str, seed: int, n_train: int, alias: str) -> registry.ModelVersion:
    from include.canary import model
    from include.sentiment.labeled_set import labeled_examples

    clf = model.train(labeled_examples(n_train, seed=seed), epochs=40, seed=seed)
    acc = model.accuracy(clf, labeled_examples(300, seed=seed + 1000))
    with tempfile.TemporaryDirectory() as tmp:
        clf.save(tmp)
        return registry.register_model(name, tmp, alias=alias, metrics={"accuracy": acc},
                                       metadata={"family": DEMO_MODEL, "train_examples": n_train, "seed": seed,
                                                 "registered_by": "canary_deploy bootstrap"})


#: Statuses a version can be canaried from (not yet judged on live traffic).
CANARIABLE = ("challenger", "registered")


def named_by_event(events: Mapping[Any, Iterable[Any]] | None) -> dict[str, Any] | None:
    """The newest triggering event's ``extra`` that names a ``model`` (None for a manual run)."""
    named = None
    for asset_events in (events or {}).values():
        for event in asset_events:
            extra = dict(getattr(event, "extra", None) or {})
            if extra.get("model"):
                named = extra
    return named


def resolve_pair(name: str, *, bootstrap_demo: bool, version: str | None = None, seed: int = 0) -> dict[str, Any]:
    """``{"model", "champion", "challenger"}`` versions; registers demo versions when allowed and needed.

    ``version`` (from an event) is the challenger as named; else the ``challenger`` alias.
    """
    if version is not None:
        return _named_pair(name, str(version))
    current = registry.aliases(name)
    if name == DEMO_MODEL and bootstrap_demo:
        if "champion" not in current:
            _register_demo_version(name, seed=seed + 1, n_train=300, alias="champion")
        if "challenger" not in registry.aliases(name):
            n = len(registry.list_versions(name))
            _register_demo_version(name, seed=seed + 1 + n, n_train=300 + 150 * n, alias="challenger")
        current = registry.aliases(name)
    missing = [a for a in ("champion", "challenger") if a not in current]
    if missing:
        raise registry.MissingModelError(
            f"model {name!r} has no {' or '.join(missing)} alias",
            f"register one (registry.register_model(..., alias='challenger')) or use model_name={DEMO_MODEL!r}")
    if current["champion"] == current["challenger"]:
        raise ConfigError(f"{name}@champion and @challenger are the same version {current['champion']}",
                          "register a new challenger version before canarying")
    return {"model": name, "champion": current["champion"], "challenger": current["challenger"]}


def _named_pair(name: str, version: str) -> dict[str, Any]:
    mv = registry.get_version(name, version)
    champion = registry.aliases(name).get("champion")
    if champion is None:
        raise registry.MissingModelError(f"model {name!r} has no champion to canary {mv.ref} against",
                                         f"promote a first {name} version (its training pipeline's gate does)")
    if mv.status not in CANARIABLE or mv.version == champion:
        raise PermanentError(f"{mv.ref} is {mv.status} ({mv.status_details.get('decided_by', 'earlier')}): "
                             "it was judged already and is not canaried again",
                             "register a new version and hand that one to the canary")
    return {"model": name, "champion": champion, "challenger": mv.version}
