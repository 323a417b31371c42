"""The DuckDB vector store (replace/delete in one transaction, vector reuse), BM25 in SQL against the formula
computed by hand, reciprocal-rank fusion, and the embedder against sentence-transformers' own encode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from include.rag import bm25, chunking
from include.rag.extract import Block, Document
from include.rag.search import rrf
from include.rag.store import DocumentWrite, KnowledgeStore

MODEL = "test-model"


def _write(source: str, path: str, paragraphs: list[str], seed: int) -> DocumentWrite:
    doc = Document(title=path, blocks=[Block((f"H{i}",), p) for i, p in enumerate(paragraphs)])
    chunks = chunking.chunk_document(doc, source, path, chunk_size=50, overlap=5)
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(len(chunks), 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return DocumentWrite(doc_id=f"{source}:{path}", source=source, path=path, title=path, format="text",
                         content_hash=f"h{seed}", fingerprint=f"f{seed}", size=10, chunks=chunks, vectors=vecs,
                         model=MODEL)


def test_apply_replaces_a_documents_chunks_and_deletes_in_one_transaction(lake):
    store = KnowledgeStore()
    a = _write("s", "a.md", ["apples grow on trees", "bananas are yellow"], 1)
    b = _write("s", "b.md", ["cherries are red"], 2)
    assert store.apply([a, b], []) == {"chunks_deleted": 0, "chunks_inserted": 3, "documents_written": 2}
    assert store.documents("s") == {"a.md": ("s:a.md", "f1"), "b.md": ("s:b.md", "f2")}
    before_b = store.chunks([c.chunk_id for c in b.chunks])

    a2 = _write("s", "a.md", ["apples grow on trees"], 3)  # edited: one section left
    assert store.apply([a2], [])["chunks_deleted"] == 2
    assert store.counts()["sources"] == {"s": {"documents": 2, "chunks": 2}}
    assert store.chunks([c.chunk_id for c in b.chunks]) == before_b  # the other document is untouched

    # vectors are found again by text hash (reused, not re-embedded)
    known = store.known_vectors([a2.chunks[0].text_hash, "nope"], MODEL)
    assert list(known) == [a2.chunks[0].text_hash]
    assert np.allclose(known[a2.chunks[0].text_hash], a2.vectors[0], atol=1e-6)
    assert store.known_vectors([a2.chunks[0].text_hash], "other-model") == {}

    assert store.apply([], ["s:b.md"]) == {"chunks_deleted": 1, "chunks_inserted": 0, "documents_written": 0}
    assert store.bm25_search(["cherry"], 5) == []  # postings went with the chunk
    assert store.drop_sources(keep=[]) == {"documents_deleted": 1, "chunks_deleted": 1}
    assert store.counts() == {"documents": 0, "chunks": 0, "sources": {}, "models": []}


def test_dense_search_is_exact_cosine(lake):
    store = KnowledgeStore()
    w = _write("s", "a.md", [f"para {i} " + "word " * 30 for i in range(6)], 5)
    store.apply([w], [])
    query = w.vectors[3] + 0.01
    hits = store.dense_search(query, 3)
    sims = w.vectors @ query / np.linalg.norm(query)
    expected = [w.chunks[i].chunk_id for i in np.argsort(-sims)[:3]]
    assert [cid for cid, _ in hits] == expected
    assert hits[0][1] == pytest.approx(float(sims.max()), abs=1e-5)


def test_bm25_sql_matches_the_formula(lake):
    store = KnowledgeStore()
    texts = ["the quick brown fox jumps", "quick quick foxes run far away from home",
             "a lazy dog sleeps", "brown dogs and brown foxes"]
    writes = [_write("s", f"d{i}.md", [t], i) for i, t in enumerate(texts)]
    store.apply(writes, [])
    query = bm25.tokens("quick brown foxes")
    assert query == ["quick", "brown", "foxe"]  # stop words gone; S stemmer: foxes -> foxe (as in the docs)
    docs = [bm25.term_counts(c.text) for w in writes for c in w.chunks]
    ids = [c.chunk_id for w in writes for c in w.chunks]
    n, avgdl = len(docs), sum(sum(d.values()) for d in docs) / len(docs)
    expected = {}
    for cid, d in zip(ids, docs, strict=True):
        score = 0.0
        for t in set(query):
            df = sum(1 for x in docs if t in x)
            if d[t]:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                dl = sum(d.values())
                score += idf * d[t] * (bm25.K1 + 1) / (d[t] + bm25.K1 * (1 - bm25.B + bm25.B * dl / avgdl))
        if score:
            expected[cid] = score
    got = dict(store.bm25_search(query, 10))
    assert got.keys() == expected.keys()
    for cid, score in expected.items():
        assert got[cid] == pytest.approx(score, rel=1e-9)


def test_s_stemmer_rules():
    assert [bm25.s_stem(w) for w in ("headlines", "policies", "classes", "status", "glass", "boxes", "is")] == \
        ["headline", "policy", "classe", "status", "glass", "boxe", "is"]


def test_rrf_fuses_by_reciprocal_rank():
    fused = rrf([["a", "b", "c"], ["c", "a", "d"]], k=60)
    assert [cid for cid, _ in fused] == ["a", "c", "b", "d"]
    assert dict(fused)["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert dict(fused)["d"] == pytest.approx(1 / 63)


def test_embedder_equals_sentence_transformers_encode_in_input_order():
    from sentence_transformers import SentenceTransformer

    from include.rag import embedding

    texts = ["short", "a much longer sentence " * 20, "medium length text about agents", "x " * 400]
    ours = embedding.embed(texts, batch_size=2, threads=2)
    ref = SentenceTransformer(embedding.model_info().path, device="cpu").encode(texts, normalize_embeddings=True)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    assert np.abs(ours - ref).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_bf16_vectors_stay_close_to_fp32_and_carry_their_own_model_version():
    from include.rag import embedding
    from include.rag.config import IngestConfig

    texts = ["How long are quarantined files kept?", "Use TestModel for deterministic agent tests. " * 5]
    fp32 = embedding.embed(texts)
    bf16 = embedding.embed(texts, precision="bf16")
    assert ((fp32 * bf16).sum(axis=1) > 0.999).all()
    assert embedding.model_info(precision="bf16").version.endswith(", bf16")
    assert embedding.model_info().version != embedding.model_info(precision="bf16").version
    # a precision change changes every document's fingerprint: the store is re-embedded, never mixed
    assert IngestConfig.from_params({"precision": "bf16"}).chunking_key != IngestConfig.defaults().chunking_key
