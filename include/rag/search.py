"""Hybrid retrieval over the knowledge base: BM25 + dense, fused by a weighted sum of z-scores.

``content_generation`` calls :func:`hybrid_search` (top-k per brief). Each retriever returns its top
``max(candidates, FUSION_DEPTH)`` chunks with scores; each run's scores become z-scores (over that run) and
the fused score is ``0.3 · z_bm25 + 0.7 · z_dense`` (:func:`convex_z`). Why not reciprocal-rank fusion
(:func:`rrf`, Cormack et al. 2009, what shipped first): on BEIR NFCorpus it throws away how far ahead a hit
is; the weighted z-sum, tuned on NFCorpus dev judgements, beats naive RRF (k = 60) on the test split
(bench/results/retrieval_quality.json, docs/ingest_knowledge_base.md). Ties break by chunk id so results
are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from include.rag import KB_CONN_ID, LOCAL_MINILM

if TYPE_CHECKING:
    from include.rag.store import KnowledgeStore

RRF_K = 60
#: Hybrid fusion, chosen on BEIR NFCorpus *dev* judgements (bench/retrieval_tuning.py; test figures in
#: bench/results/retrieval_quality.json): convex combination of z-scores, BM25 weight 0.3, dense 0.7, over
#: each retriever's top FUSION_DEPTH chunks (at least ``candidates``).
BM25_WEIGHT = 0.3
FUSION_DEPTH = 1000


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


def rrf(rankings: list[list[str]], k: int = RRF_K, weights: list[float] | None = None) -> list[tuple[str, float]]:
    """Fuse ranked id lists: ``Σ w_r/(k + rank_r)`` (ranks from 1; weights 1 by default), best first."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def convex_z(runs: list[list[tuple[str, float]]], weights: list[float]) -> list[tuple[str, float]]:
    """Fuse scored lists: ``Σ w_r · z_r`` with ``z_r`` the run's scores as z-scores over that run, best first.

    A hit missing from a run gets that run's lowest z (it scored below everything the run returned).
    Why z-scores and not raw scores: BM25 is unbounded and query-dependent, cosine lives in [-1, 1];
    standardising each run puts them on one scale (Bruch, Gai & Ingber 2023, "An Analysis of Fusion
    Functions for Hybrid Retrieval", ACM TOIS: a tuned convex combination beats RRF). Runs must be deep
    (``FUSION_DEPTH``): the mean and spread of a 50-hit run are too noisy (bench/retrieval_tuning.py).
    """
    import statistics

    per_run: list[tuple[dict[str, float], float]] = []
    for run in runs:
        scores = [s for _, s in run]
        if not scores:
            per_run.append(({}, 0.0))
            continue
        mean = statistics.fmean(scores)
        sd = statistics.pstdev(scores) or 1.0
        z = {cid: (s - mean) / sd for cid, s in run}
        per_run.append((z, min(z.values())))
    ids = {cid for z, _ in per_run for cid in z}
    fused = {cid: sum(w * z.get(cid, floor) for (z, floor), w in zip(per_run, weights, strict=True)) for cid in ids}
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def hybrid_search(query: str, k: int = 5, *, store: KnowledgeStore | None = None, conn_id: str = KB_CONN_ID,
                  candidates: int = 50, mode: str = "hybrid", model: str = LOCAL_MINILM,
                  precision: str | None = None) -> list[Hit]:
    """Top ``k`` chunks for ``query``: ``mode`` hybrid (default), bm25 or dense.

    ``precision`` of the query's embedding: by default the one the store's vectors were made with.
    """
    from include.rag import bm25, embedding
    from include.rag.store import KnowledgeStore

    if mode not in ("hybrid", "bm25", "dense"):
        raise ValueError(f"mode {mode!r} is not hybrid, bm25 or dense")
    store = store or KnowledgeStore(conn_id)
    vector = None
    if mode != "bm25":
        if precision is None:
            with store.connect() as conn:
                models = [r[0] for r in conn.execute("SELECT DISTINCT model FROM kb_chunks").fetchall()]
            precision = "bf16" if any(m.endswith(", bf16") for m in models) else "fp32"
        vector = embedding.embed([query], ref=model, precision=precision)[0]
    with store.connect():  # one connection for both retrievers and the fetch
        depth = max(candidates, FUSION_DEPTH) if mode == "hybrid" else candidates
        lexical_run = store.bm25_search(bm25.tokens(query), depth) if mode != "dense" else []
        dense_run = store.dense_search(vector, depth) if vector is not None else []
        if mode == "hybrid":
            fused = convex_z([lexical_run, dense_run], [BM25_WEIGHT, 1.0 - BM25_WEIGHT])[:k]
        else:  # one retriever: its own order, scored 1/(60 + rank) as before
            fused = rrf([[cid for cid, _ in (lexical_run or dense_run)]])[:k]
        rows = store.chunks([cid for cid, _ in fused])
    lexical = [cid for cid, _ in lexical_run]
    dense = [cid for cid, _ in dense_run]
    b_rank = {cid: i for i, cid in enumerate(lexical, start=1)}
    d_rank = {cid: i for i, cid in enumerate(dense, start=1)}
    return [Hit(cid, score, b_rank.get(cid), d_rank.get(cid), rows[cid]["source"], rows[cid]["path"],
                rows[cid]["heading"], rows[cid]["body"]) for cid, score in fused if cid in rows]
