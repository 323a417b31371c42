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


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/services/" in str(item.fspath):
            item.add_marker(pytest.mark.services)
