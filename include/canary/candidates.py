"""Which two models a canary compares, and the recorded requests it replays.

``resolve_pair`` reads the registry aliases (``<name>@champion`` vs ``<name>@challenger``). For the
``canary_demo`` family it can bootstrap the aliases by training and registering small real models,
so the DAG runs end to end on a fresh checkout; any other model must have been registered by its
own training pipeline.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import date
from typing import Any

from include.platform import registry, storage

log = logging.getLogger(__name__)

DEMO_MODEL = "canary_demo"


def _register_demo_version(name: str, seed: int, n_train: int, alias: str) -> registry.ModelVersion:
    from include.canary import model
    from include.demo.feedback import labeled_examples

    clf = model.train(labeled_examples(n_train, seed=seed), epochs=40, seed=seed)
    acc = model.accuracy(clf, labeled_examples(300, seed=seed + 1000))
    with tempfile.TemporaryDirectory() as tmp:
        clf.save(tmp)
        return registry.register_model(name, tmp, alias=alias, metrics={"accuracy": acc},
                                       metadata={"family": DEMO_MODEL, "train_examples": n_train, "seed": seed,
                                                 "registered_by": "canary_deploy bootstrap"})


def resolve_pair(name: str, *, bootstrap_demo: bool, seed: int = 0) -> dict[str, Any]:
    """``{"model", "champion", "challenger"}`` versions; registers demo versions when allowed and needed."""
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
        raise LookupError(f"model {name!r} has no {' or '.join(missing)} alias: register one "
                          f"(registry.register_model(..., alias='challenger')) or use model_name={DEMO_MODEL!r}")
    if current["champion"] == current["challenger"]:
        raise LookupError(f"{name}@champion and @challenger are the same version {current['champion']}")
    return {"model": name, "champion": current["champion"], "challenger": current["challenger"]}


def record_requests(day: date, n: int, seed: int = 0) -> str:
    """Write the request bodies to replay (``raw/canary/requests-<day>.jsonl``) and return its URI.

    Taken from the day's feedback export when the lake has one (the real traffic shape: messy HTML,
    long and empty texts), else from the demo generator. Lines without a text are skipped; they
    are the sentiment pipeline's quarantine business, not a model server's.
    """
    from include.demo.feedback import feedback_lines

    texts: list[str] = []
    folder = storage.lake_path("raw", "feedback", day.isoformat())
    if folder.exists():
        for path in sorted(folder.iterdir()):
            for line in storage.read_text(path).splitlines():
                try:
                    text = json.loads(line).get("text")
                except (ValueError, AttributeError):
                    continue
                if isinstance(text, str) and text.strip():
                    texts.append(text)
    source = "feedback export"
    if not texts:
        source = "demo generator"
        for line in feedback_lines(day, n, seed=seed, malformed_share=0.0):
            text = json.loads(line).get("text")
            if isinstance(text, str) and text.strip():
                texts.append(text)
    texts = texts[:n]
    out = storage.lake_path("raw", "canary", f"requests-{day.isoformat()}.jsonl")
    storage.write_text(out, "\n".join(json.dumps({"text": t}) for t in texts) + "\n")
    log.info("recorded %s requests from the %s to %s", len(texts), source, out)
    return str(out)
