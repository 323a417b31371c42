"""The knowledge store's server path: PostgreSQL + pgvector, through the Airflow pgvector provider.

Selected when the store's connection (``knowledge_base_default``, or the one Variable ``genai_kb_conn_id``
names) is of type ``postgres``: :class:`include.rag.store.KnowledgeStore` then hands out a
:class:`PgVectorKnowledgeStore` with the same methods, so ingest, publish and
:func:`include.rag.search.hybrid_search` run unchanged. For teams that outgrow one machine: every worker
reads and writes one server (the DuckDB file is local to a worker), and managed offerings exist (Amazon
RDS / Aurora PostgreSQL, Google Cloud SQL / AlloyDB, Azure Database for PostgreSQL Flexible Server all
ship the ``vector`` extension).

Same tables and semantics as the DuckDB store: ``kb_documents``, ``kb_chunks`` (``embedding vector(384)``, or
the dimension of a hosted model: rebuilt for it while empty, see :meth:`PgVectorKnowledgeStore.ensure_dim`),
``kb_postings``; unchanged documents embed nothing, a changed document replaces its chunks, a deleted one
loses them, each :meth:`~PgVectorKnowledgeStore.apply` is one transaction (writers serialised by an
advisory lock, as DuckDB's file lock serialises them; readers never wait).

* **Dense**: an HNSW index (``vector_cosine_ops``) on ``kb_chunks.embedding`` — approximate nearest
  neighbours, the project's ANN index (the embedded DuckDB store searches exactly: its ``vss`` extension
  cannot be installed offline). ``hnsw.ef_search`` is raised per query to at least the number of
  candidates asked for (pgvector's default 40 would silently return fewer than hybrid search's 50).
* **Full text**: BM25 over the same postings design as :mod:`include.rag.bm25` (same analyzer via
  ``bm25.index_rows``, same Lucene formula and constants, same feedback terms), with a B-tree on
  ``(term, chunk_id, tf)`` as the inverted index. Chosen over Postgres' own ``tsvector`` + GIN + ``ts_rank_cd`` because ts_rank_cd is
  not BM25 (no idf, different length normalisation): hybrid search would rank differently on the two
  backends and the retrieval benchmark would measure a different retriever. With the same postings both
  backends return the same BM25 scores (tests/integration/test_knowledge_on_pgvector.py checks it).

Driver: the provider's ``PgVectorHook`` (a ``PostgresHook``; psycopg 3 whenever SQLAlchemy 2 is installed,
as in this project's lock); vectors travel as binary through the ``pgvector`` client's adapters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from include.platform.errors import ConfigError
from include.rag import EMBEDDING_DIM, KB_CONN_ID
from include.rag.store import DocumentWrite, KnowledgeStore, chunks_ddl, dim_mismatch

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: Index names the tests (and an operator's EXPLAIN) look for.
HNSW_INDEX = "kb_chunks_embedding_hnsw"
POSTINGS_INDEX = "kb_postings_term"
#: ``hnsw.ef_search`` per query: at least this, and at least twice the rows asked for. pgvector's default 40
#: returns at most 40 rows (hybrid search asks for 50); on 10k synthetic chunks (clusters of near-duplicates,
#: a hard case) recall@50 against an exact scan was 0.88 at 50, 0.96 at 100, 0.98 at 200, latency flat.
EF_SEARCH_MIN = 100
#: A write that at least doubles the table and adds this many chunks rebuilds the HNSW index after the
#: insert instead of maintaining it row by row: 10k chunks took ~105 s inserted into the index vs ~5 s
#: for CREATE INDEX afterwards (loaded 2-core machine). Readers wait for that transaction (the DROP INDEX lock).
REBUILD_MIN_ROWS = 2000
#: pgvector's HNSW indexes ``vector`` columns of up to 2,000 dimensions.
HNSW_MAX_DIM = 2000
#: Serialises schema creation and writers across workers (an arbitrary constant: "kb" in ASCII).
_LOCK_KEY = 0x6B62

HNSW_DDL = f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON kb_chunks USING hnsw (embedding vector_cosine_ops)"
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS kb_documents (doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, path TEXT NOT NULL,
       title TEXT, format TEXT, content_hash TEXT, fingerprint TEXT, n_chunks INTEGER, bytes BIGINT,
       ingested_at TIMESTAMPTZ DEFAULT now())""",
    "CREATE INDEX IF NOT EXISTS kb_documents_source ON kb_documents (source, path)",
    f"""CREATE TABLE IF NOT EXISTS kb_chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, source TEXT,
       path TEXT, position INTEGER, heading TEXT, body TEXT, text TEXT, text_hash TEXT, n_tokens INTEGER,
       model TEXT, embedding vector({EMBEDDING_DIM}) NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS kb_chunks_doc ON kb_chunks (doc_id)",
    # Narrow copy of each chunk's length: BM25's corpus statistics and length join read it index-only
    # instead of the wide heap rows (each holds a 1.5 kB vector).
    "CREATE INDEX IF NOT EXISTS kb_chunks_len ON kb_chunks (chunk_id) INCLUDE (n_tokens)",
    "CREATE INDEX IF NOT EXISTS kb_chunks_text_hash ON kb_chunks (model, text_hash)",
    HNSW_DDL,
    "CREATE TABLE IF NOT EXISTS kb_postings (chunk_id TEXT NOT NULL, term TEXT NOT NULL, tf INTEGER NOT NULL, "
    "PRIMARY KEY (chunk_id, term))",
    f"CREATE INDEX IF NOT EXISTS {POSTINGS_INDEX} ON kb_postings (term, chunk_id, tf)",
    "CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT)",
]
#: Everything SCHEMA creates (checked before taking the lock).
_OBJECTS = ("kb_documents", "kb_documents_source", "kb_chunks", "kb_chunks_doc", "kb_chunks_len", "kb_chunks_text_hash",
            HNSW_INDEX, "kb_postings", POSTINGS_INDEX, "kb_meta")

#: Dense retrieval: ordered by the cosine distance alone (a second sort key would stop the HNSW index
#: being used); ties are broken by chunk id in Python. ``%(v)s`` a vector, ``%(k)s`` the limit.
DENSE_SQL = "SELECT chunk_id, 1 - (embedding <=> %(v)s) AS s FROM kb_chunks ORDER BY embedding <=> %(v)s LIMIT %(k)s"


def bm25_sql() -> str:
    """:data:`include.rag.bm25.QUERY_SQL`'s weighted BM25 in PostgreSQL's dialect (same formula, same constants)."""
    from include.rag.bm25 import score_sql

    return f"""
WITH q AS (SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[]) AS q(term, qw)),
p AS MATERIALIZED (SELECT chunk_id, term, tf FROM kb_postings WHERE term = ANY(%(terms)s::text[])),
stats AS (SELECT count(*)::float8 AS n, avg(n_tokens)::float8 AS avgdl FROM kb_chunks),
df AS (SELECT term, count(*)::float8 AS df FROM p GROUP BY term)
SELECT p.chunk_id, sum(q.qw * {score_sql('p.tf', 'c.n_tokens')}) AS score
FROM p JOIN q USING (term) JOIN df USING (term) JOIN kb_chunks c USING (chunk_id) CROSS JOIN stats
GROUP BY p.chunk_id
ORDER BY score DESC, p.chunk_id
LIMIT %(k)s
"""


def feedback_sql() -> str:
    """:data:`include.rag.bm25.FEEDBACK_SQL` in PostgreSQL's dialect."""
    from include.rag.bm25 import score_sql

    return f"""
WITH fb AS (SELECT chunk_id, term, tf FROM kb_postings WHERE chunk_id = ANY(%(ids)s::text[])),
stats AS (SELECT count(*)::float8 AS n, avg(n_tokens)::float8 AS avgdl FROM kb_chunks),
df AS (SELECT term, count(*)::float8 AS df FROM kb_postings WHERE term IN (SELECT term FROM fb) GROUP BY term)
SELECT p.term, sum({score_sql('p.tf', 'c.n_tokens')}) AS w
FROM fb p JOIN df USING (term) JOIN kb_chunks c USING (chunk_id) CROSS JOIN stats
GROUP BY p.term
ORDER BY w DESC, p.term
LIMIT %(k)s
"""


class _Connection:
    """``conn.execute(sql, params) → cursor`` for psycopg 2 and 3 alike (what the DuckDB store's callers use)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = None) -> Any:
        cur = self.raw.cursor()
        cur.execute(sql, params)
        return cur

    def copy_rows(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Bulk insert: ``COPY ... FROM STDIN`` on psycopg 3 (about 10x faster than row inserts for the
        postings), ``executemany`` on psycopg 2."""
        if not rows:
            return
        cols = ", ".join(columns)
        with self.raw.cursor() as cur:
            if hasattr(cur, "copy"):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})", rows)


def _register_vector(raw: Any, cache: dict[str, Any]) -> None:
    """The ``pgvector`` client's type adapters (numpy array ⇄ ``vector``) on this connection's driver.

    psycopg 3: only the ``vector`` type, its catalogue entry fetched once per store object and reused
    (the client's ``register_vector`` looks up four types per connection: ~30 ms of a short search)."""
    if type(raw).__module__.startswith("psycopg2"):
        from pgvector.psycopg2 import register_vector

        register_vector(raw)
        return
    from pgvector.psycopg.vector import register_vector_info
    from psycopg.types import TypeInfo

    if "vector" not in cache:
        cache["vector"] = TypeInfo.fetch(raw, "vector")
    register_vector_info(raw, cache["vector"])


class PgVectorKnowledgeStore(KnowledgeStore):
    """Chunks + vectors (HNSW) + BM25 postings in PostgreSQL with pgvector, behind a ``postgres`` connection."""

    def __init__(self, conn_id: str = KB_CONN_ID) -> None:
        from airflow.providers.pgvector.hooks.pgvector import PgVectorHook

        self.conn_id = conn_id
        self.hook = PgVectorHook(postgres_conn_id=conn_id)
        self._active: _Connection | None = None
        self._schema_ready = False
        self._types: dict[str, Any] = {}
        self._dim: int | None = None

    def _ensure_schema(self, raw: Any) -> None:
        """Extension, tables and indexes, once per store object. When they all exist (the usual case) nothing
        is locked, so a search never queues behind a writer; otherwise under the advisory lock (concurrent
        ``CREATE ... IF NOT EXISTS`` from parallel tasks can otherwise collide on the catalog)."""
        with raw.cursor() as cur:
            cur.execute("SELECT bool_and(to_regclass(n) IS NOT NULL) FROM unnest(%s::text[]) AS n", [list(_OBJECTS)])
            if cur.fetchone()[0] and self._analyzer_current(cur):
                raw.commit()
                self._schema_ready = True
                return
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
            if cur.fetchone() is None:
                cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
                if cur.fetchone() is None:
                    raise ConfigError(f"the PostgreSQL server behind connection {self.conn_id!r} has no pgvector "
                                      "extension", "use a server with pgvector (RDS/Aurora, Cloud SQL, AlloyDB and "
                                      "Azure Flexible Server ship it; self-hosted: install postgresql-NN-pgvector)")
                try:
                    cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
                except Exception as exc:
                    raise ConfigError(f"cannot create extension vector on {self.conn_id!r}: {exc}",
                                      "have an administrator run CREATE EXTENSION vector in that database once "
                                      "(Azure: allow-list VECTOR in azure.extensions first)") from exc
            for ddl in SCHEMA:
                cur.execute(ddl)
            if not self._analyzer_current(cur):
                self._reindex(raw, cur)
        raw.commit()
        self._schema_ready = True

    @staticmethod
    def _analyzer_current(cur: Any) -> bool:
        from include.rag.bm25 import ANALYZER

        cur.execute("SELECT value FROM kb_meta WHERE key = 'analyzer'")
        row = cur.fetchone()
        return row is not None and row[0] == ANALYZER

    def _reindex(self, raw: Any, cur: Any) -> None:
        """Rebuild the BM25 postings (and chunk lengths) from the stored texts with the current analyzer,
        under the writers' advisory lock already held by the caller (see the DuckDB store's twin)."""
        from include.rag.bm25 import ANALYZER, index_rows

        cur.execute("SELECT chunk_id, text FROM kb_chunks")
        texts = cur.fetchall()
        if texts:
            log.info("re-indexing the BM25 postings of %d chunks with analyzer %s", len(texts), ANALYZER)
            postings, lengths = index_rows(texts)
            cur.execute("DELETE FROM kb_postings")
            conn = _Connection(raw)
            conn.copy_rows("kb_postings", ("chunk_id", "term", "tf"), postings)
            cur.execute("CREATE TEMP TABLE kb_lengths (chunk_id TEXT, n_tokens INTEGER) ON COMMIT DROP")
            conn.copy_rows("kb_lengths", ("chunk_id", "n_tokens"), lengths)
            cur.execute("UPDATE kb_chunks c SET n_tokens = l.n_tokens FROM kb_lengths l WHERE c.chunk_id = l.chunk_id")
        cur.execute("INSERT INTO kb_meta VALUES ('analyzer', %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    [ANALYZER])

    @contextmanager
    def connect(self) -> Iterator[_Connection]:
        """One transaction (committed on success, rolled back on error). Nested calls share the outer one."""
        if self._active is not None:
            yield self._active
            return
        raw = self.hook.get_conn()
        try:
            raw.autocommit = False
            if not self._schema_ready:
                self._ensure_schema(raw)
            _register_vector(raw, self._types)
            self._active = _Connection(raw)
            try:
                yield self._active
            finally:
                self._active = None
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()

    # ---- vector dimension (the column's type modifier records it) ---------------------------------
    def _read_dim(self, conn: Any) -> int:
        ((dim,),) = conn.execute("SELECT atttypmod FROM pg_attribute WHERE attrelid = 'kb_chunks'::regclass "
                                 "AND attname = 'embedding'").fetchall()
        return int(dim)

    def ensure_dim(self, dim: int, *, replacing: Iterable[str] | None = None) -> None:
        """As :meth:`KnowledgeStore.ensure_dim`; the rebuild (table, its indexes) runs under the writers' lock."""
        if dim > HNSW_MAX_DIM:
            raise ConfigError(f"the embedding model makes {dim}-dimensional vectors; pgvector's HNSW index takes at "
                              f"most {HNSW_MAX_DIM}", "ask the model for fewer (the embedding connection's extra "
                              '"dimensions", e.g. 1024 for text-embedding-3-large) or use another model')
        with self.connect() as conn:
            self._dim = have = self._read_dim(conn)
            if have == dim:
                return
            if replacing is None:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            rows = conn.execute("SELECT model, count(*) FROM kb_chunks WHERE NOT (doc_id = ANY(%s)) GROUP BY model "
                                "ORDER BY model", [sorted(set(replacing or ()))]).fetchall()
            if rows:
                raise dim_mismatch(self.conn_id, have, dim, sum(int(n) for _, n in rows), [m for m, _ in rows])
            if replacing is not None:
                return
            conn.execute("DROP TABLE kb_chunks")
            for ddl in SCHEMA:  # kb_chunks again with the new dimension, and its indexes (the others exist)
                conn.execute(chunks_ddl(SCHEMA, dim) if "TABLE IF NOT EXISTS kb_chunks " in ddl else ddl)
            self._dim = dim
            log.info("knowledge store %s: empty kb_chunks rebuilt for %d-dimensional vectors (was %d)",
                     self.conn_id, dim, have)

    # ---- reads -------------------------------------------------------------------------------
    def documents(self, source: str) -> dict[str, tuple[str, str]]:
        with self.connect() as conn:
            rows = conn.execute("SELECT path, doc_id, fingerprint FROM kb_documents WHERE source = %s",
                                [source]).fetchall()
        return {path: (doc_id, fp) for path, doc_id, fp in rows}

    def known_vectors(self, text_hashes: Iterable[str], model: str) -> dict[str, np.ndarray]:
        import numpy as np

        wanted = sorted(set(text_hashes))
        if not wanted:
            return {}
        with self.connect() as conn:
            rows = conn.execute("SELECT DISTINCT ON (text_hash) text_hash, embedding FROM kb_chunks "
                                "WHERE model = %s AND text_hash = ANY(%s) ORDER BY text_hash",
                                [model, wanted]).fetchall()
        # pgvector's loaders return its ``Vector`` (to_numpy) for psycopg 3 and arrays for psycopg 2.
        return {h: np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32) for h, v in rows}

    def chunks(self, chunk_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not chunk_ids:
            return {}
        with self.connect() as conn:
            cur = conn.execute("SELECT chunk_id, doc_id, source, path, position, heading, body, text FROM kb_chunks "
                               "WHERE chunk_id = ANY(%s)", [list(chunk_ids)])
            names = [d[0] for d in cur.description]
            return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Approximate cosine search through the HNSW index; ``ef_search`` ≥ ``k`` so ``k`` rows come back."""
        import numpy as np

        with self.connect() as conn:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(min(max(EF_SEARCH_MIN, 2 * int(k)), 1000))])
            rows = conn.execute(DENSE_SQL, {"v": np.asarray(vector, dtype=np.float32), "k": k}).fetchall()
        return sorted(((cid, float(s)) for cid, s in rows), key=lambda r: (-r[1], r[0]))

    def bm25_search(self, terms: list[str] | dict[str, float], k: int) -> list[tuple[str, float]]:
        from include.rag.bm25 import weighted

        names, weights = weighted(terms)
        if not names:
            return []
        with self.connect() as conn:
            rows = conn.execute(bm25_sql(), {"terms": names, "weights": weights, "k": k}).fetchall()
        return [(cid, float(s)) for cid, s in rows]

    def feedback_terms(self, chunk_ids: list[str], k: int) -> list[tuple[str, float]]:
        if not chunk_ids:
            return []
        with self.connect() as conn:
            rows = conn.execute(feedback_sql(), {"ids": list(chunk_ids), "k": k}).fetchall()
        return [(t, float(w)) for t, w in rows]

    def vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        import numpy as np

        if not chunk_ids:
            return {}
        with self.connect() as conn:
            rows = conn.execute("SELECT chunk_id, embedding FROM kb_chunks WHERE chunk_id = ANY(%s)",
                                [list(chunk_ids)]).fetchall()
        return {cid: np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32) for cid, v in rows}

    # ---- writes ------------------------------------------------------------------------------
    def apply(self, writes: list[DocumentWrite], delete_doc_ids: Iterable[str]) -> dict[str, int]:
        """In one transaction: drop the chunks of ``delete_doc_ids`` and of every written document, then
        insert the written documents' rows, chunks (with vectors) and postings."""
        import numpy as np

        from include.rag.bm25 import index_rows

        drop = sorted(set(delete_doc_ids) | {w.doc_id for w in writes})
        docs, chunks, postings = [], [], []
        for w in writes:
            docs.append((w.doc_id, w.source, w.path, w.title, w.format, w.content_hash, w.fingerprint,
                         len(w.chunks), w.size))
            chunk_postings, lengths = index_rows((c.chunk_id, c.text) for c in w.chunks)
            for chunk, vec, (_, n_tokens) in zip(w.chunks, w.vectors, lengths, strict=True):
                chunks.append((chunk.chunk_id, w.doc_id, w.source, w.path, chunk.position, chunk.heading,
                               chunk.body, chunk.text, chunk.text_hash, n_tokens, w.model,
                               np.asarray(vec, dtype=np.float32)))
            postings.extend(chunk_postings)
        with self.connect() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            deleted = 0
            if drop:
                conn.execute("DELETE FROM kb_postings WHERE chunk_id IN "
                             "(SELECT chunk_id FROM kb_chunks WHERE doc_id = ANY(%s))", [drop])
                deleted = conn.execute("DELETE FROM kb_chunks WHERE doc_id = ANY(%s)", [drop]).rowcount
                conn.execute("DELETE FROM kb_documents WHERE doc_id = ANY(%s)", [drop])
            if chunks:  # after the deletes: a store whose every chunk is replaced is rebuilt for a new dimension
                self.ensure_dim(len(chunks[0][-1]))
            rebuild = len(chunks) >= REBUILD_MIN_ROWS and \
                len(chunks) >= conn.execute("SELECT count(*) FROM kb_chunks").fetchone()[0]
            if rebuild:
                conn.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
            conn.copy_rows("kb_documents", ("doc_id", "source", "path", "title", "format", "content_hash",
                                            "fingerprint", "n_chunks", "bytes"), docs)
            conn.copy_rows("kb_chunks", ("chunk_id", "doc_id", "source", "path", "position", "heading", "body", "text",
                                         "text_hash", "n_tokens", "model", "embedding"), chunks)
            conn.copy_rows("kb_postings", ("chunk_id", "term", "tf"), postings)
            if rebuild:
                conn.execute(HNSW_DDL)
        if rebuild and self._active is None:
            self._vacuum()
        return {"chunks_deleted": int(deleted), "chunks_inserted": len(chunks), "documents_written": len(docs)}

    def _vacuum(self) -> None:
        """After a bulk load: set the visibility map and statistics now rather than at autovacuum's next
        pass — until then BM25's index-only scans fall back to the heap (10k chunks: p50 ~90 ms instead of
        ~15 ms). VACUUM cannot run in a transaction, hence its own autocommit connection."""
        raw = self.hook.get_conn()
        try:
            raw.autocommit = True
            with raw.cursor() as cur:
                cur.execute("VACUUM (ANALYZE) kb_chunks, kb_postings, kb_documents")
        finally:
            raw.close()

    def drop_sources(self, keep: Iterable[str]) -> dict[str, int]:
        keep = sorted(set(keep))
        with self.connect() as conn:
            gone = [r[0] for r in conn.execute("SELECT doc_id FROM kb_documents WHERE NOT (source = ANY(%s))",
                                               [keep]).fetchall()]
        if not gone:
            return {"documents_deleted": 0, "chunks_deleted": 0}
        result = self.apply([], gone)
        return {"documents_deleted": len(gone), "chunks_deleted": result["chunks_deleted"]}
