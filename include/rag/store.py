"""The vector store behind a connection: chunks, their vectors and the BM25 postings in one database.

**Embedded default: DuckDB** (a file, ``data/knowledge_base.duckdb``, or whatever the ``duckdb``
connection ``knowledge_base_default`` names). Why DuckDB over LanceDB / FAISS: it is already in the
locked environment (LanceDB and FAISS are not), the project's warehouse speaks it through the Airflow
provider's hook, the core ``array_cosine_similarity`` over ``FLOAT[384]`` works offline (the ``vss``
index extension cannot be downloaded here, so search is exact brute force: measured in
docs/ingest_knowledge_base.md), and vectors, text, BM25 postings and document hashes change together in
one ACID transaction — a crashed task leaves the previous state, never half a document.

Tables: ``kb_documents`` (one row per ingested file: content hash, fingerprint), ``kb_chunks`` (text,
heading, vector, token count), ``kb_postings`` (chunk_id, term, tf), ``kb_meta`` (the BM25 analyzer the
postings were built with: when :data:`include.rag.bm25.ANALYZER` changes, the first connection re-indexes
the postings from the stored texts in its transaction, so no query mixes two analyzers and no vector is
re-embedded).

**Vector dimension**: the column type records it (``FLOAT[384]`` for MiniLM, created so). A write of vectors
of another dimension (a hosted model: :mod:`include.rag.hosted`) rebuilds ``kb_chunks`` for that dimension when
it holds no chunk, and otherwise fails with a :class:`ConfigError` naming the fix (vectors of two sizes cannot
share a column, and dropping other sources' chunks behind their back would lose them):
:meth:`KnowledgeStore.ensure_dim`. Writers wait for DuckDB's file lock
(:func:`include.platform.warehouse.connect`), so mapped tasks may run side by side.

**Server path: PostgreSQL + pgvector** (:mod:`include.rag.pgvector_store`): a connection of type
``postgres`` makes ``KnowledgeStore(conn_id)`` return a ``PgVectorKnowledgeStore`` (same methods, HNSW
index, same BM25 postings). A connection of any other type fails at once naming what is supported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from include.platform.errors import ConfigError
from include.rag import EMBEDDING_DIM, KB_CONN_ID

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS kb_documents (doc_id VARCHAR, source VARCHAR, path VARCHAR, title VARCHAR,
       format VARCHAR, content_hash VARCHAR, fingerprint VARCHAR, n_chunks INTEGER, bytes BIGINT,
       ingested_at TIMESTAMPTZ DEFAULT now())""",
    f"""CREATE TABLE IF NOT EXISTS kb_chunks (chunk_id VARCHAR, doc_id VARCHAR, source VARCHAR, path VARCHAR,
       position INTEGER, heading VARCHAR, body VARCHAR, text VARCHAR, text_hash VARCHAR, n_tokens INTEGER,
       model VARCHAR, embedding FLOAT[{EMBEDDING_DIM}])""",
    "CREATE TABLE IF NOT EXISTS kb_postings (chunk_id VARCHAR, term VARCHAR, tf INTEGER)",
    # key → value: ``analyzer`` = include.rag.bm25.ANALYZER of the postings (a change re-indexes them)
    "CREATE TABLE IF NOT EXISTS kb_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
]


@dataclass
class DocumentWrite:
    """One document's new state: its row and its chunks (with vectors and postings)."""

    doc_id: str
    source: str
    path: str
    title: str
    format: str
    content_hash: str
    fingerprint: str
    size: int
    chunks: list[Any]  # include.rag.chunking.Chunk
    vectors: np.ndarray
    model: str


def chunks_ddl(schema: list[str], dim: int) -> str:
    """``kb_chunks``' CREATE statement of ``schema`` with its vector column for ``dim`` dimensions."""
    ddl = next(d for d in schema if "TABLE IF NOT EXISTS kb_chunks " in d)
    return ddl.replace(f"[{EMBEDDING_DIM}]", f"[{dim}]").replace(f"({EMBEDDING_DIM})", f"({dim})")


def dim_mismatch(conn_id: str, have: int, want: int, chunks: int, models: list[str]) -> ConfigError:
    return ConfigError(
        f"the knowledge store behind connection {conn_id!r} holds {chunks} chunks with {have}-dimensional vectors "
        f"({', '.join(models) or 'no model recorded'}); the embedding model now makes {want}-dimensional ones",
        "keep the store's model (Param embedding_model / the embedding connection's model), or build a new store "
        "for the new model: point Variable genai_kb_conn_id at a new connection (another DuckDB file or database), "
        "or empty this one (DuckDB: delete its file; PostgreSQL: DROP TABLE kb_chunks, kb_postings, kb_documents) "
        "and run a full ingest")


def _hook(conn_id: str):  # noqa: ANN202 - DuckDBHook
    from airflow.providers.duckdb.hooks.duckdb import DuckDBHook
    from airflow.sdk import BaseHook

    from include.platform.settings import data_dir, resolve_project_path

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - AirflowNotFoundException differs across versions
        if conn_id != KB_CONN_ID:
            raise ConfigError(f"vector store connection {conn_id!r} does not exist",
                              "add it (type duckdb, host = a database file) or unset Variable genai_kb_conn_id") from None
        path = data_dir() / "knowledge_base.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBHook(database=str(path))
    if conn.conn_type != "duckdb":
        raise ConfigError(f"vector store connection {conn_id!r} is of type {conn.conn_type!r}; 'duckdb' (embedded) "
                          "and 'postgres' (a server with pgvector) are implemented",
                          "point the connection at a DuckDB file (type duckdb, host = path) or at PostgreSQL "
                          "with the vector extension (type postgres)")
    from pathlib import Path

    database = resolve_project_path(conn.host or str(data_dir() / "knowledge_base.duckdb"))
    if database != ":memory:" and "://" not in database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return DuckDBHook(duckdb_conn_id=conn_id, database=database)


def _conn_type(conn_id: str) -> str | None:
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id).conn_type
    except Exception:  # noqa: BLE001 - absent: the embedded default (or _hook's ConfigError)
        return None


class KnowledgeStore:
    """Chunks + vectors + BM25 postings of every source, behind one connection id."""

    def __new__(cls, conn_id: str = KB_CONN_ID) -> KnowledgeStore:
        """The backend-selection point: a ``postgres`` connection gets the pgvector store."""
        if cls is KnowledgeStore and _conn_type(conn_id) == "postgres":
            from include.rag.pgvector_store import PgVectorKnowledgeStore

            return super().__new__(PgVectorKnowledgeStore)
        return super().__new__(cls)

    def __init__(self, conn_id: str = KB_CONN_ID) -> None:
        self.conn_id = conn_id
        self.hook = _hook(conn_id)
        self._active: Any = None
        self._analyzer_checked = False
        self._dim: int | None = None

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """One transaction (committed on success); waits for DuckDB's file lock up to 5 minutes.

        Nested calls share the outer connection: a search opens the file once for its BM25, dense and
        fetch queries (opening a DuckDB file costs tens of milliseconds, more than a 10k-row scan).
        """
        from include.platform.warehouse import connect

        if self._active is not None:
            yield self._active
            return
        with connect(self.hook, retry_seconds=300) as conn:
            for ddl in SCHEMA:
                conn.execute(ddl)
            if not self._analyzer_checked:
                self._ensure_analyzer(conn)
            self._active = conn
            try:
                yield conn
            finally:
                self._active = None

    def _ensure_analyzer(self, conn: Any) -> None:
        """Re-index the BM25 postings when they were built by another analyzer (or before it was recorded)."""
        import pyarrow as pa

        from include.rag.bm25 import ANALYZER, index_rows

        row = conn.execute("SELECT value FROM kb_meta WHERE key = 'analyzer'").fetchone()
        if row is None or row[0] != ANALYZER:
            texts = conn.execute("SELECT chunk_id, text FROM kb_chunks").fetchall()
            if texts:
                log.info("re-indexing the BM25 postings of %d chunks: analyzer %s -> %s", len(texts),
                         row[0] if row else "unrecorded", ANALYZER)
                postings, lengths = index_rows(texts)
                conn.execute("DELETE FROM kb_postings")
                conn.register("reindexed", pa.table({"chunk_id": [p[0] for p in postings],
                                                     "term": [p[1] for p in postings], "tf": [p[2] for p in postings]}))
                conn.execute("INSERT INTO kb_postings SELECT chunk_id, term, tf FROM reindexed")
                conn.unregister("reindexed")
                conn.register("lengths", pa.table({"chunk_id": [x[0] for x in lengths],
                                                   "n_tokens": [x[1] for x in lengths]}))
                conn.execute("UPDATE kb_chunks SET n_tokens = lengths.n_tokens FROM lengths "
                             "WHERE kb_chunks.chunk_id = lengths.chunk_id")
                conn.unregister("lengths")
            conn.execute("INSERT OR REPLACE INTO kb_meta VALUES ('analyzer', ?)", [ANALYZER])
        self._analyzer_checked = True

    # ---- vector dimension ----------------------------------------------------------------------
    def _read_dim(self, conn: Any) -> int:
        ((kind,),) = conn.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'kb_chunks' "
                                  "AND column_name = 'embedding'").fetchall()
        return int(str(kind).rsplit("[", 1)[1].rstrip("]"))

    def vector_dim(self) -> int:
        """The dimension ``kb_chunks.embedding`` was created for (its column type records it)."""
        if self._dim is None:
            with self.connect() as conn:
                self._dim = self._read_dim(conn)
        return self._dim

    def ensure_dim(self, dim: int, *, replacing: Iterable[str] | None = None) -> None:
        """Make ``kb_chunks`` take ``dim``-dimensional vectors: nothing to do when it does; rebuilt when it holds no
        chunk; else a :class:`ConfigError` naming the fix. ``replacing``: the documents a coming write replaces
        (their chunks do not count; only checked — the write's own transaction rebuilds)."""
        with self.connect() as conn:
            self._dim = have = self._read_dim(conn)
            if have == dim:
                return
            rows = conn.execute("SELECT model, count(*) FROM kb_chunks WHERE doc_id NOT IN "
                                "(SELECT unnest(?::VARCHAR[])) GROUP BY model ORDER BY model",
                                [sorted(set(replacing or ()))]).fetchall()
            if rows:
                raise dim_mismatch(self.conn_id, have, dim, sum(int(n) for _, n in rows), [m for m, _ in rows])
            if replacing is not None:
                return
            conn.execute("DROP TABLE kb_chunks")
            conn.execute(chunks_ddl(SCHEMA, dim))
            self._dim = dim
            log.info("knowledge store %s: empty kb_chunks rebuilt for %d-dimensional vectors (was %d)",
                     self.conn_id, dim, have)

    # ---- reads -------------------------------------------------------------------------------
    def documents(self, source: str) -> dict[str, tuple[str, str]]:
        """path → (doc_id, fingerprint) of the source's ingested documents."""
        with self.connect() as conn:
            rows = conn.execute("SELECT path, doc_id, fingerprint FROM kb_documents WHERE source = ?",
                                [source]).fetchall()
        return {path: (doc_id, fp) for path, doc_id, fp in rows}

    def sources(self) -> list[str]:
        with self.connect() as conn:
            return [r[0] for r in conn.execute("SELECT DISTINCT source FROM kb_documents ORDER BY 1").fetchall()]

    def known_vectors(self, text_hashes: Iterable[str], model: str) -> dict[str, np.ndarray]:
        """text_hash → vector for texts already embedded with ``model`` (any document): not embedded twice."""
        import numpy as np

        wanted = sorted(set(text_hashes))
        if not wanted:
            return {}
        with self.connect() as conn:
            rows = conn.execute("SELECT DISTINCT ON (text_hash) text_hash, embedding FROM kb_chunks "
                                "WHERE model = ? AND text_hash IN (SELECT unnest(?::VARCHAR[]))",
                                [model, wanted]).fetchall()
        return {h: np.asarray(v, dtype=np.float32) for h, v in rows}

    def counts(self) -> dict[str, Any]:
        with self.connect() as conn:
            per = conn.execute("SELECT d.source, count(DISTINCT d.doc_id), coalesce(sum(d.n_chunks), 0) "
                               "FROM kb_documents d GROUP BY 1 ORDER BY 1").fetchall()
            models = [r[0] for r in conn.execute("SELECT DISTINCT model FROM kb_chunks ORDER BY 1").fetchall()]
        sources = {s: {"documents": int(d), "chunks": int(c)} for s, d, c in per}
        return {"documents": sum(v["documents"] for v in sources.values()),
                "chunks": sum(v["chunks"] for v in sources.values()), "sources": sources, "models": models}

    def chunks(self, chunk_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not chunk_ids:
            return {}
        with self.connect() as conn:
            cur = conn.execute("SELECT chunk_id, doc_id, source, path, position, heading, body, text FROM kb_chunks "
                               "WHERE chunk_id IN (SELECT unnest(?::VARCHAR[]))", [list(chunk_ids)])
            names = [d[0] for d in cur.description]
            return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Exact cosine search (brute force: the vss index extension is not available offline)."""
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT chunk_id, array_cosine_similarity(embedding, ?::FLOAT[{self.vector_dim()}]) AS s "
                "FROM kb_chunks ORDER BY s DESC, chunk_id LIMIT ?", [vector.astype("float32").tolist(), k]).fetchall()
        return [(cid, float(s)) for cid, s in rows]

    def bm25_search(self, terms: list[str] | dict[str, float], k: int) -> list[tuple[str, float]]:
        """BM25 top ``k``: ``terms`` a query's tokens (weight 1 each) or term → weight."""
        from include.rag.bm25 import QUERY_SQL, weighted

        names, weights = weighted(terms)
        if not names:
            return []
        with self.connect() as conn:
            rows = conn.execute(QUERY_SQL, {"terms": names, "weights": weights, "k": k}).fetchall()
        return [(cid, float(s)) for cid, s in rows]

    def feedback_terms(self, chunk_ids: list[str], k: int) -> list[tuple[str, float]]:
        """The ``k`` terms with the highest summed BM25 weight in ``chunk_ids`` (pseudo-relevance feedback)."""
        from include.rag.bm25 import FEEDBACK_SQL

        if not chunk_ids:
            return []
        with self.connect() as conn:
            rows = conn.execute(FEEDBACK_SQL, {"ids": list(chunk_ids), "k": k}).fetchall()
        return [(t, float(w)) for t, w in rows]

    def vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """chunk_id → its stored (unit) vector."""
        import numpy as np

        if not chunk_ids:
            return {}
        with self.connect() as conn:
            rows = conn.execute("SELECT chunk_id, embedding FROM kb_chunks WHERE chunk_id IN "
                                "(SELECT unnest(?::VARCHAR[]))", [list(chunk_ids)]).fetchall()
        return {cid: np.asarray(v, dtype=np.float32) for cid, v in rows}

    # ---- writes ------------------------------------------------------------------------------
    def apply(self, writes: list[DocumentWrite], delete_doc_ids: Iterable[str]) -> dict[str, int]:
        """In one transaction: drop the chunks of ``delete_doc_ids`` and of every written document, then
        insert the written documents' rows, chunks and postings. Returns rows deleted/inserted."""
        import numpy as np
        import pyarrow as pa

        from include.rag.bm25 import index_rows

        drop = sorted(set(delete_doc_ids) | {w.doc_id for w in writes})
        docs, chunks, postings = [], [], []
        vectors = []
        for w in writes:
            docs.append({"doc_id": w.doc_id, "source": w.source, "path": w.path, "title": w.title,
                         "format": w.format, "content_hash": w.content_hash, "fingerprint": w.fingerprint,
                         "n_chunks": len(w.chunks), "bytes": w.size})
            chunk_postings, lengths = index_rows((c.chunk_id, c.text) for c in w.chunks)
            for chunk, vec, (_, n_tokens) in zip(w.chunks, w.vectors, lengths, strict=True):
                chunks.append({"chunk_id": chunk.chunk_id, "doc_id": w.doc_id, "source": w.source, "path": w.path,
                               "position": chunk.position, "heading": chunk.heading, "body": chunk.body,
                               "text": chunk.text, "text_hash": chunk.text_hash, "n_tokens": n_tokens,
                               "model": w.model})
                vectors.append(vec)
            postings.extend({"chunk_id": cid, "term": t, "tf": n} for cid, t, n in chunk_postings)
        dim = int(np.asarray(vectors[0]).shape[0]) if vectors else self.vector_dim()
        with self.connect() as conn:
            deleted = 0
            if drop:
                ids = {"ids": drop}
                sub = "(SELECT chunk_id FROM kb_chunks WHERE doc_id IN (SELECT unnest($ids::VARCHAR[])))"
                conn.execute(f"DELETE FROM kb_postings WHERE chunk_id IN {sub}", ids)
                deleted = conn.execute("DELETE FROM kb_chunks WHERE doc_id IN (SELECT unnest($ids::VARCHAR[]))",
                                       ids).fetchone()[0]
                conn.execute("DELETE FROM kb_documents WHERE doc_id IN (SELECT unnest($ids::VARCHAR[]))", ids)
            if docs:
                conn.register("incoming_docs", pa.Table.from_pylist(docs))
                conn.execute("INSERT INTO kb_documents (doc_id, source, path, title, format, content_hash, "
                             "fingerprint, n_chunks, bytes) SELECT doc_id, source, path, title, format, content_hash, "
                             "fingerprint, n_chunks, bytes FROM incoming_docs")
                conn.unregister("incoming_docs")
            if chunks:
                self.ensure_dim(dim)  # after the deletes: a store whose every chunk is replaced is rebuilt
                flat = pa.array(np.asarray(vectors, dtype=np.float32).reshape(-1))
                table = pa.Table.from_pylist(chunks).append_column(
                    "embedding", pa.FixedSizeListArray.from_arrays(flat, dim))
                conn.register("incoming_chunks", table)
                conn.execute("INSERT INTO kb_chunks SELECT chunk_id, doc_id, source, path, position, heading, body, "
                             f"text, text_hash, n_tokens, model, embedding::FLOAT[{dim}] FROM incoming_chunks")
                conn.unregister("incoming_chunks")
            if postings:
                conn.register("incoming_postings", pa.Table.from_pylist(postings))
                conn.execute("INSERT INTO kb_postings SELECT chunk_id, term, tf FROM incoming_postings")
                conn.unregister("incoming_postings")
        return {"chunks_deleted": int(deleted), "chunks_inserted": len(chunks), "documents_written": len(docs)}

    def drop_sources(self, keep: Iterable[str]) -> dict[str, int]:
        """Remove every document of a source not in ``keep`` (its folder is gone from the lake)."""
        keep = sorted(set(keep))
        with self.connect() as conn:
            gone = [r[0] for r in conn.execute("SELECT doc_id FROM kb_documents WHERE source NOT IN "
                                               "(SELECT unnest(?::VARCHAR[]))", [keep]).fetchall()]
        if not gone:
            return {"documents_deleted": 0, "chunks_deleted": 0}
        result = self.apply([], gone)
        return {"documents_deleted": len(gone), "chunks_deleted": result["chunks_deleted"]}
