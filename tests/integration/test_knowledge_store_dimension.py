"""The vector dimension rule of both knowledge stores (DuckDB embedded; PostgreSQL + pgvector from pgserver, skipped
naming scripts/install_pgserver.sh without it): a store records its dimension in the column type; a write of another
dimension rebuilds it while no chunk of the old size would remain (indexes included), and is otherwise refused with
a ConfigError naming the fix, the store untouched. Random unit vectors: the stores are tested, not a model."""

from __future__ import annotations

import numpy as np
import pytest

from include.platform.errors import ConfigError

pytestmark = pytest.mark.slow


def _write(source: str, path: str, dim: int, seed: int, model: str):  # noqa: ANN202 - DocumentWrite
    from include.rag import chunking
    from include.rag.extract import Block, Document
    from include.rag.store import DocumentWrite

    doc = Document(title=path, blocks=[Block((f"H{i}",), f"{source} paragraph {i} about {path}") for i in range(3)])
    chunks = chunking.chunk_document(doc, source, path, chunk_size=50, overlap=5)
    vecs = np.random.default_rng(seed).normal(size=(len(chunks), dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return DocumentWrite(doc_id=f"{source}:{path}", source=source, path=path, title=path, format="text",
                         content_hash="h", fingerprint="f", size=1, chunks=chunks, vectors=vecs, model=model)


@pytest.mark.parametrize("backend", ["duckdb", "pgvector"])
def test_dimension_follows_the_first_write_and_mixing_is_refused(lake, request, backend):
    from include.rag.store import KnowledgeStore

    store = KnowledgeStore(request.getfixturevalue("pgvector_kb")) if backend == "pgvector" else KnowledgeStore()
    assert store.vector_dim() == 384  # created empty for MiniLM

    wide = _write("a", "a.md", 768, 1, "hosted:emb/openai:wide")
    assert store.apply([wide], [])["chunks_inserted"] == 3
    assert store.vector_dim() == 768
    top = store.dense_search(wide.vectors[1], 1)
    assert top[0][0] == wide.chunks[1].chunk_id and top[0][1] == pytest.approx(1.0, abs=1e-5)
    if backend == "pgvector":
        from include.rag.pgvector_store import HNSW_INDEX

        with store.connect() as conn:
            assert conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                                "'kb_chunks'::regclass AND attname = 'embedding'").fetchone()[0] == "vector(768)"
            assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [HNSW_INDEX]).fetchone()[0] == 1
        with pytest.raises(ConfigError, match="HNSW index takes at most 2000"):
            store.ensure_dim(3072)

    before = store.counts()
    with pytest.raises(ConfigError, match="holds 3 chunks with 768-dimensional vectors") as refused:
        store.apply([_write("b", "b.md", 384, 2, "minilm")], [])  # source a's chunks would stay at 768
    assert "genai_kb_conn_id" in refused.value.fix
    assert store.counts() == before and KnowledgeStore(store.conn_id).vector_dim() == 768  # rolled back
    store.ensure_dim(384, replacing=["a:a.md"])  # a check only: a write replacing a would be accepted

    # Every chunk replaced in one write: rebuilt for 384, the old document's chunks gone with the old column.
    narrow = _write("a", "a.md", 384, 3, "minilm")
    assert store.apply([narrow], [])["chunks_deleted"] == 3
    assert KnowledgeStore(store.conn_id).vector_dim() == 384 and store.counts()["models"] == ["minilm"]
    assert store.dense_search(narrow.vectors[0], 1)[0][0] == narrow.chunks[0].chunk_id
