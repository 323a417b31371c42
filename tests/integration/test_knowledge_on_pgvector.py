"""The knowledge store's server path against a real PostgreSQL 16 + pgvector (pgserver's binaries, started
by tests/fixtures/pgvector_server.py on loopback; skipped, naming scripts/install_pgserver.sh, without them).

1. ``ingest_knowledge_base`` (dag.test) over the seeded demo corpus with the store's connection
   ``knowledge_base_pgvector`` (type postgres, via Variable genai_kb_conn_id): recall@5 of the planted
   passages ≥ 0.9 through hybrid search on that server, the dense query's plan uses the HNSW index;
   a re-ingest embeds nothing; an edited document replaces only its own chunks; a deleted one loses them.
2. The two backends score BM25 identically and agree on the dense top 10 (DuckDB exact, pgvector HNSW)
   for the same documents, so hybrid search ranks the same on either.
"""

from __future__ import annotations

import numpy as np
import pendulum
import pytest

from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import task_states

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.slow]

DAG_ID = "ingest_knowledge_base"


def _run(dagbag, day: int) -> dict:
    run = dagbag.get_dag(DAG_ID).test(logical_date=pendulum.datetime(2026, 12, day, tz="UTC"), run_conf={})
    assert run.state == "success", task_states(DAG_ID, run.run_id)
    (event,) = run_events(run.run_id, "knowledge_base")
    return event


def _snapshot(store) -> dict[str, tuple]:
    with store.connect() as conn:
        rows = conn.execute("SELECT chunk_id, doc_id, path, position, text, text_hash, embedding::text "
                            "FROM kb_chunks").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_ingest_dag_on_pgvector(lake, dagbag, pgvector_kb):
    from include.platform import storage
    from include.rag import demo, search
    from include.rag.embedding import embed
    from include.rag.pgvector_store import DENSE_SQL, HNSW_INDEX, PgVectorKnowledgeStore
    from include.rag.store import KnowledgeStore

    store = KnowledgeStore(pgvector_kb)
    assert isinstance(store, PgVectorKnowledgeStore)
    demo.seed_knowledge_base()

    # 1. first ingest, into PostgreSQL
    event = _run(dagbag, 1)
    assert event["store"] == pgvector_kb and event["documents"] == 17 and event["chunks"] > 300
    assert event["run"]["embedded"] == event["chunks"] - event["run"]["reused_vectors"] > 0
    with store.connect() as conn:
        assert conn.execute("SELECT count(*) FROM kb_chunks").fetchone()[0] == event["chunks"]
        assert conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                            "'kb_chunks'::regclass AND attname = 'embedding'").fetchone()[0] == "vector(384)"
        assert conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [HNSW_INDEX]).fetchone()[0] \
            .endswith("USING hnsw (embedding vector_cosine_ops)")
        conn.execute("ANALYZE kb_chunks")
        vector = embed(["How often is the vector store backed up?"])[0]
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + DENSE_SQL, {"v": vector, "k": 50}).fetchall())
    assert f"Index Scan using {HNSW_INDEX}" in plan, plan

    found = []
    for question, source, path, answer in demo.SEEDED_QUESTIONS:
        hits = search.hybrid_search(question, 5, conn_id=pgvector_kb)
        assert all(h.bm25_rank or h.dense_rank for h in hits)
        found.append(any(h.source == source and h.path == path and answer in h.body for h in hits))
    recall = sum(found) / len(found)
    print(f"pgvector: recall@5 planted {recall:.2f} ({sum(found)}/{len(found)}); {event['chunks']} chunks")
    assert recall >= 0.9, [q for q, ok in zip(demo.SEEDED_QUESTIONS, found, strict=True) if not ok]
    assert len(store.dense_search(vector, 50)) == 50  # ef_search raised: hybrid search gets all its candidates

    # 2. re-ingest, nothing changed: nothing embedded, nothing rewritten
    before = _snapshot(store)
    event2 = _run(dagbag, 2)
    assert event2["run"]["embedded"] == 0 and event2["run"]["unchanged"] == 17
    assert _snapshot(store) == before

    # 3. edit one document: only its chunks change, one new embedding
    handbook = storage.lake_path("raw", "knowledge", "handbook")
    ops = handbook / "operations.md"
    storage.write_text(ops, storage.read_text(ops).replace("The escalation window is 45 minutes",
                                                           "The escalation window is 25 minutes"))
    event3 = _run(dagbag, 3)
    assert event3["run"]["changed"] == 1 and event3["run"]["embedded"] == 1
    after = _snapshot(store)
    assert {c: r for c, r in after.items() if r[1] != "operations.md"} == \
        {c: r for c, r in before.items() if r[1] != "operations.md"}
    hits = search.hybrid_search("How long is the escalation window?", 5, conn_id=pgvector_kb)
    assert any("25 minutes" in h.body for h in hits) and not any("45 minutes" in h.body for h in hits)

    # 4. delete one document: its chunks and postings go, nothing else moves
    (handbook / "retention.html").unlink()
    event4 = _run(dagbag, 4)
    assert event4["run"]["deleted"] == 1 and event4["documents"] == 16
    assert _snapshot(store) == {c: r for c, r in after.items() if r[1] != "retention.html"}
    with store.connect() as conn:
        assert conn.execute("SELECT count(*) FROM kb_postings WHERE chunk_id NOT IN "
                            "(SELECT chunk_id FROM kb_chunks)").fetchone()[0] == 0


def test_bm25_and_dense_agree_with_the_duckdb_store(lake, pgvector_kb, monkeypatch):
    """Same writes into both backends → same BM25 scores, same dense top 10 (vectors: random unit vectors,
    so no model is loaded; the point is the stores, not the embeddings). The bulk-load path (HNSW index
    dropped and rebuilt after the insert) runs here: its threshold is lowered below the corpus size."""
    from include.rag import chunking, demo, extract, pgvector_store
    from include.rag.bm25 import ANALYZER, tokens
    from include.rag.search import expanded_terms
    from include.rag.store import DocumentWrite, KnowledgeStore

    writes = []
    rng = np.random.default_rng(7)
    for source, files in demo.corpus_files().items():
        for key, path in files:
            if not key.endswith((".md", ".html", ".txt")) or key == "LICENSE.txt":
                continue
            chunks = chunking.chunk_document(extract.extract(key, path.read_bytes()), source, key,
                                             chunk_size=100, overlap=20)
            vecs = rng.normal(size=(len(chunks), 384)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            writes.append(DocumentWrite(doc_id=f"{source}/{key}", source=source, path=key, title=key, format="md",
                                        content_hash="h", fingerprint="f", size=1, chunks=chunks, vectors=vecs,
                                        model="random"))
    duck, pg = KnowledgeStore(), KnowledgeStore(pgvector_kb)
    assert type(duck).__name__ == "KnowledgeStore" and type(pg).__name__ == "PgVectorKnowledgeStore"
    monkeypatch.setattr(pgvector_store, "REBUILD_MIN_ROWS", 100)
    for store in (duck, pg):
        result = store.apply(writes, [])
        assert result["chunks_inserted"] > 300
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s",
                            [pgvector_store.HNSW_INDEX]).fetchone()[0] == 1
    assert duck.counts() == pg.counts()
    for query in ("escalation window head of platform engineering", "tool decorator run context",
                  "quarantined files retention days", "structured output validation retries"):
        d, p = duck.bm25_search(tokens(query), 20), pg.bm25_search(tokens(query), 20)
        assert [c for c, _ in d] == [c for c, _ in p], query
        assert np.allclose([s for _, s in d], [s for _, s in p], rtol=1e-9), query
        # the feedback round: same feedback terms, same weighted (expanded) BM25, same stored vectors
        top = [c for c, _ in d[:5]]
        fd, fp = duck.feedback_terms(top, 10), pg.feedback_terms(top, 10)
        assert [t for t, _ in fd] == [t for t, _ in fp], query
        assert np.allclose([w for _, w in fd], [w for _, w in fp], rtol=1e-9), query
        weights = expanded_terms(tokens(query), fd)
        d, p = duck.bm25_search(weights, 20), pg.bm25_search(weights, 20)
        assert [c for c, _ in d] == [c for c, _ in p], query
        assert np.allclose([s for _, s in d], [s for _, s in p], rtol=1e-9), query
        vd, vp = duck.vectors(top), pg.vectors(top)
        assert vd.keys() == vp.keys() == set(top)
        assert all(np.allclose(vd[c], vp[c], atol=1e-6) for c in top)
    probe = writes[3].vectors[0] + 0.1 * writes[5].vectors[0]
    assert [c for c, _ in duck.dense_search(probe, 10)] == [c for c, _ in pg.dense_search(probe, 10)]
    # postings built by another analyzer are rebuilt by the next store object, as in DuckDB
    with pg.connect() as conn:
        expected = sorted(conn.execute("SELECT chunk_id, term, tf FROM kb_postings").fetchall())
        conn.execute("UPDATE kb_postings SET tf = tf + 1")
        conn.execute("UPDATE kb_meta SET value = 'an-older-analyzer' WHERE key = 'analyzer'")
    with KnowledgeStore(pgvector_kb).connect() as conn:
        assert sorted(conn.execute("SELECT chunk_id, term, tf FROM kb_postings").fetchall()) == expected
        assert conn.execute("SELECT value FROM kb_meta WHERE key = 'analyzer'").fetchone()[0] == ANALYZER
    # deleting through drop_sources behaves the same on both
    assert duck.drop_sources(["handbook"]) == pg.drop_sources(["handbook"])
    assert duck.counts() == pg.counts() and pg.sources() == ["handbook"]
