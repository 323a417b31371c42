"""Service-backed tests: PostgreSQL / Redis on this machine. Skipped (with the reason) when they do not answer."""

from __future__ import annotations

import socket

import pytest


def answers(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not answers(5432):
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432 (start it to run the service suite)")
    return "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def scratch_pg_warehouse(postgres_url, monkeypatch):
    """A fresh PostgreSQL database as connection ``warehouse_default`` for one test, dropped after it."""
    import uuid

    import psycopg2

    db = f"genai_scratch_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(postgres_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {db}")
    try:
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", postgres_url.rsplit("/", 1)[0] + f"/{db}")
        yield db
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.close()


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/services/" in str(item.fspath):
            item.add_marker(pytest.mark.services)
