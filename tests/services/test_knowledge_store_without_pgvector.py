"""A ``postgres`` store connection to a server without the pgvector extension (this machine's PostgreSQL 15,
which Debian ships without it) fails at once with a ConfigError naming the fix, and leaves nothing behind."""

from __future__ import annotations

import pytest


def test_postgres_without_pgvector_is_a_config_error(scratch_pg_warehouse, postgres_url, monkeypatch):
    import psycopg

    from include.platform.errors import ConfigError
    from include.rag.store import KnowledgeStore

    url = postgres_url.rsplit("/", 1)[0] + f"/{scratch_pg_warehouse}"
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone():
            pytest.skip("this PostgreSQL has pgvector available: nothing to refuse")
    monkeypatch.setenv("AIRFLOW_CONN_KB_NO_VECTOR", url)
    store = KnowledgeStore("kb_no_vector")
    assert type(store).__name__ == "PgVectorKnowledgeStore"
    with pytest.raises(ConfigError, match="no pgvector extension"):
        store.counts()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('kb_chunks')").fetchone()[0] is None
