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
from include.platform.errors import ConfigError

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
        raise registry.MissingModelError(
            f"model {name!r} has no {' or '.join(missing)} alias",
            f"register one (registry.register_model(..., alias='challenger')) or use model_name={DEMO_MODEL!r}")
    if current["champion"] == current["challenger"]:
        raise ConfigError(f"{name}@champion and @challenger are the same version {current['champion']}",
                          "register a new challenger version before canarying")
    return {"model": name, "champion": current["champion"], "challenger": current["challenger"]}


def _export_texts(day: date) -> list[str]:
    """The non-blank texts of the day's feedback export, read with the platform's line reader.

    The same reader as the sentiment pipeline: a bad byte, a raw U+2028 or a 100,000-deep line costs
    one line (logged with file and line), never the whole replay set. Lines without a usable text
    are the sentiment pipeline's quarantine business, not a model server's, so they are only counted.
    """
    from include.platform.lines import read_json_lines

    texts: list[str] = []
    for path in storage.list_files(storage.lake_path("raw", "feedback", day.isoformat()), ".jsonl"):
        read = read_json_lines(storage.read_bytes(path), path.name, text_fields=("text",))
        for q in read.quarantined[:5]:
            log.info("skipping %s line %d (byte %d): %s", q.source, q.line_no, q.offset, q.reason)
        if read.quarantined:
            log.info("%s: %d lines skipped in all", path.name, len(read.quarantined))
        for line in read.records:
            text = line.value.get("text") if isinstance(line.value, dict) else None
            if isinstance(text, str) and text.strip() and _encodable(text):
                texts.append(text)
    return texts


def _encodable(text: str) -> bool:
    """False for a lone surrogate (``"\\ud800"`` is valid JSON, but no server can tokenize it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def record_requests(day: date, n: int, seed: int = 0) -> str:
    """Write the request bodies to replay (``raw/canary/requests-<day>.jsonl``) and return its URI.

    Taken from the day's feedback export when the lake has one (the real traffic shape: messy HTML,
    long and empty texts), else from the demo generator. Lines without a text are skipped; they
    are the sentiment pipeline's quarantine business, not a model server's.
    """
    from include.demo.feedback import feedback_lines

    texts = _export_texts(day)
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
