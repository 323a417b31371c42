"""The DuckDB vector store (replace/delete in one transaction, vector reuse), BM25 in SQL against the formula
computed by hand (plain and weighted queries, feedback terms), the analyzer and its re-index, reciprocal-rank
fusion with pseudo-relevance feedback, and the embedder against sentence-transformers' own encode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from include.rag import bm25, chunking
from include.rag.extract import Block, Document
from include.rag.search import expanded_terms, expanded_vector, hybrid_search, rrf
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


def _formula(writes: list[DocumentWrite], weights: dict[str, float]) -> dict[str, float]:
    """BM25 by hand: Σ_t weight_t · idf_t · tf(k1+1)/(tf + k1(1 − b + b·dl/avgdl)) per chunk (non-zero only)."""
    docs = [bm25.term_counts(c.text) for w in writes for c in w.chunks]
    ids = [c.chunk_id for w in writes for c in w.chunks]
    n, avgdl = len(docs), sum(sum(d.values()) for d in docs) / len(docs)
    expected = {}
    for cid, d in zip(ids, docs, strict=True):
        score = 0.0
        for t, qw in weights.items():
            df = sum(1 for x in docs if t in x)
            if d[t]:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                dl = sum(d.values())
                score += qw * idf * d[t] * (bm25.K1 + 1) / (d[t] + bm25.K1 * (1 - bm25.B + bm25.B * dl / avgdl))
        if score:
            expected[cid] = score
    return expected


TEXTS = ["the quick brown fox jumps", "quick quick foxes run far away from home",
         "a lazy dog sleeps", "brown dogs and brown foxes"]


def test_bm25_sql_matches_the_formula(lake):
    store = KnowledgeStore()
    writes = [_write("s", f"d{i}.md", [t], i) for i, t in enumerate(TEXTS)]
    store.apply(writes, [])
    query = bm25.tokens("quick brown foxes")
    assert query == ["quick", "brown", "fox"]  # stop words gone; Snowball: foxes -> fox
    for weights in (dict.fromkeys(query, 1.0), {"quick": 0.5, "brown": 1.0, "dog": 0.25}):
        expected = _formula(writes, weights)
        got = dict(store.bm25_search(query if weights == dict.fromkeys(query, 1.0) else weights, 10))
        assert got.keys() == expected.keys()
        for cid, score in expected.items():
            assert got[cid] == pytest.approx(score, rel=1e-9)


def test_feedback_terms_are_the_summed_bm25_weights_of_the_feedback_chunks(lake):
    store = KnowledgeStore()
    writes = [_write("s", f"d{i}.md", [t], i) for i, t in enumerate(TEXTS)]
    store.apply(writes, [])
    fb = [writes[1].chunks[0].chunk_id, writes[3].chunks[0].chunk_id]
    vocab = {t for w in (writes[1], writes[3]) for t in bm25.term_counts(w.chunks[0].text)}
    summed = {t: sum(_formula(writes, {t: 1.0}).get(c, 0.0) for c in fb) for t in vocab}
    got = store.feedback_terms(fb, 3)
    best = sorted(summed.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [t for t, _ in got] == [t for t, _ in best]
    assert [w for _, w in got] == pytest.approx([w for _, w in best], rel=1e-9)


def test_snowball_analyzer_conflates_word_forms():
    assert bm25.tokens("Headlines policies running nutritional nutrition The of") == \
        ["headlin", "polici", "run", "nutrit", "nutrit"]
    assert bm25.tokens("vitamins") == bm25.tokens("vitamin")


def test_a_store_built_by_another_analyzer_is_reindexed_on_first_connect(lake):
    store = KnowledgeStore()
    writes = [_write("s", f"d{i}.md", [t], i) for i, t in enumerate(TEXTS)]
    store.apply(writes, [])
    with store.connect() as conn:  # what a store written by the S-stemmer analyzer looked like
        conn.execute("DELETE FROM kb_postings")
        conn.execute("INSERT INTO kb_postings SELECT chunk_id, 'foxe', 1 FROM kb_chunks")
        conn.execute("UPDATE kb_chunks SET n_tokens = 99")
        conn.execute("DELETE FROM kb_meta")
    reopened = KnowledgeStore()
    with reopened.connect() as conn:
        postings = sorted(conn.execute("SELECT chunk_id, term, tf FROM kb_postings").fetchall())
        lengths = sorted(conn.execute("SELECT chunk_id, n_tokens FROM kb_chunks").fetchall())
        analyzer = conn.execute("SELECT value FROM kb_meta WHERE key = 'analyzer'").fetchone()[0]
    want_postings, want_lengths = bm25.index_rows((c.chunk_id, c.text) for w in writes for c in w.chunks)
    assert postings == sorted(want_postings)
    assert lengths == sorted(want_lengths)
    assert analyzer == bm25.ANALYZER
    assert dict(reopened.bm25_search(["fox"], 10)).keys() == _formula(writes, {"fox": 1.0}).keys()


def test_expansion_mixes_query_and_feedback_terms_and_moves_the_vector():
    weights = expanded_terms(["vitamin", "vitamin", "d"], [("rickets", 4.0), ("vitamin", 2.0), ("sun", 1.0)], 0.5)
    assert weights == pytest.approx({"vitamin": 0.5 + 0.25, "d": 0.5, "rickets": 0.5, "sun": 0.125})
    q = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    moved = expanded_vector(q, [np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])], 1.0)
    assert np.linalg.norm(moved) == pytest.approx(1.0, abs=1e-6)
    assert moved == pytest.approx(np.array([1.0, 0.5, 0.5]) / np.sqrt(1.5), abs=1e-6)
    assert expanded_vector(q, []) is q


def test_feedback_finds_a_passage_that_shares_no_word_with_the_query(lake):
    """Vocabulary mismatch, the case feedback is for: the query's words are in one passage only; a second
    relevant passage uses that passage's other words. Plain BM25 cannot find it; after feedback BM25 does."""
    from include.rag import embedding

    texts = ["Vitamin D deficiency causes rickets; sunlight exposure and calciferol supplements prevent rickets.",
             "Rickets softens bones in children; calciferol and sunlight restore bone mineralisation.",
             "Green tea catechins and their effect on blood pressure in adults.",
             "Dietary fibre from whole grains lowers the risk of colorectal cancer.",
             "Saturated fat intake and cholesterol levels in a cohort of nurses.",
             "Omega-3 fatty acids from fish oil and heart rhythm disorders."]
    writes = []
    for i, t in enumerate(texts):
        w = _write("s", f"d{i}.md", [t], i)
        w.vectors = embedding.embed([c.text for c in w.chunks])
        writes.append(w)
    store = KnowledgeStore()
    store.apply(writes, [])
    target = writes[1].chunks[0].chunk_id
    plain = hybrid_search("vitamin D deficiency", k=6, store=store, feedback=0)
    assert all(h.bm25_rank is None for h in plain if h.chunk_id == target)  # plain BM25 cannot rank it
    expanded = hybrid_search("vitamin D deficiency", k=3, store=store, feedback=1)
    hit = next(h for h in expanded if h.chunk_id == target)
    assert hit.bm25_rank is not None  # found lexically through the feedback terms (rickets, calciferol, sunlight)
    assert [h.chunk_id for h in expanded][:2] == [writes[0].chunks[0].chunk_id, target]


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


def test_auto_precision_is_bf16_only_where_the_cpu_has_native_bf16():
    from include.rag.config import IngestConfig
    from include.rag.embedding import model_info, native_bf16, resolve_precision

    want = "bf16" if native_bf16() else "fp32"
    assert resolve_precision("auto") == want and resolve_precision("fp32") == "fp32"
    cfg = IngestConfig.defaults()
    assert cfg.precision == "auto" and cfg.local_precision == want
    assert cfg.chunking_key == IngestConfig.from_params({"precision": want}).chunking_key
    assert model_info(precision="auto").version == model_info(precision=want).version
