"""Hybrid retrieval over the knowledge base: BM25 + dense, fused by reciprocal rank.

``content_generation`` calls :func:`hybrid_search` (top-k per brief). Reciprocal-rank fusion
(Cormack, Clarke & Büttcher, SIGIR 2009): ``score(d) = Σ_r 1 / (k + rank_r(d))`` over the two ranked
lists, k = 60 — no score calibration between BM25 and cosine needed. Each retriever contributes its top
``candidates``; ties break by chunk id so results are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from include.rag import KB_CONN_ID

if TYPE_CHECKING:
    from include.rag.store import KnowledgeStore

RRF_K = 60


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    score: float
    bm25_rank: int | None
    dense_rank: int | None
    source: str
    path: str
    heading: str
    body: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists: ``Σ 1/(k + rank)`` (ranks from 1), best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def hybrid_search(query: str, k: int = 5, *, store: KnowledgeStore | None = None, conn_id: str = KB_CONN_ID,
                  candidates: int = 50, mode: str = "hybrid", model: str | None = None,
                  precision: str | None = None) -> list[Hit]:
    """Top ``k`` chunks for ``query``: ``mode`` hybrid (default), bm25 or dense.

    The query is embedded by the model the store's vectors were made with (``model`` None: its recorded
    version — a hosted model through its connection, MiniLM in the ``precision`` of its vectors).
    """
    from include.rag import bm25, embedding
    from include.rag.store import KnowledgeStore

    if mode not in ("hybrid", "bm25", "dense"):
        raise ValueError(f"mode {mode!r} is not hybrid, bm25 or dense")
    store = store or KnowledgeStore(conn_id)
    vector = None
    if mode != "bm25":
        vector = embedding.query_vector(store, query, model=model, precision=precision)
    with store.connect():  # one connection for both retrievers and the fetch
        lexical = [cid for cid, _ in store.bm25_search(bm25.tokens(query), candidates)] if mode != "dense" else []
        dense = [cid for cid, _ in store.dense_search(vector, candidates)] if vector is not None else []
        fused = rrf([r for r in (lexical, dense) if r])[:k]
        rows = store.chunks([cid for cid, _ in fused])
    b_rank = {cid: i for i, cid in enumerate(lexical, start=1)}
    d_rank = {cid: i for i, cid in enumerate(dense, start=1)}
    return [Hit(cid, score, b_rank.get(cid), d_rank.get(cid), rows[cid]["source"], rows[cid]["path"],
                rows[cid]["heading"], rows[cid]["body"]) for cid, score in fused if cid in rows]
