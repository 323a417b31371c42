"""End to end: ingest_knowledge_base with ``embedding_model=hosted`` — the demo corpus embedded through a connection
to the project's OpenAI-compatible stub (``POST /v1/embeddings``; real MiniLM vectors computed inside the stub by
sentence-transformers), with dag.test().

1. ``choose_embedder`` picks ``ingest_hosted`` (pool ``llm_api``; the local ``ingest`` is skipped); every chunk is
   embedded through the stub in requests of at most ``hosted_batch_size`` texts — a 429 (Retry-After) and a 500 on
   the way are retried by the client inside the task, each request sent again exactly once; the ``knowledge_base``
   event and ``kb_chunks.model`` name the hosted model (``hosted:embedding_default/openai:stub-embed``).
2. ``hybrid_search`` embeds each question through the stub too (the store's recorded model): recall@5 of the
   planted passages ≥ 0.9.
3. Re-ingest with nothing changed → nothing embedded, not one request to the API.
"""

from __future__ import annotations

import json

import pendulum
import pytest

from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import task_states, task_tries
from tests.fixtures.emulators import free_port
from tests.fixtures.openai_stub import OpenAIStub, embed_texts, serve

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_ID = "ingest_knowledge_base"
VERSION = "hosted:embedding_default/openai:stub-embed"


def _run(dagbag, day: int):
    run = dagbag.get_dag(DAG_ID).test(logical_date=pendulum.datetime(2026, 12, day, tz="UTC"),
                                      run_conf={"embedding_model": "hosted", "hosted_batch_size": 64})
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success", states
    (event,) = run_events(run.run_id, "knowledge_base")
    return states, event, run.run_id


def test_hosted_embedding_model_through_a_connection(lake, dagbag, monkeypatch):
    from include.rag import demo, search
    from include.rag.store import KnowledgeStore

    assert dagbag.get_dag(DAG_ID).get_task("ingest_hosted").pool == "llm_api"
    demo.seed_knowledge_base()
    embed_texts(["warm up"], "stub-embed")  # load the stub's model before the client's clock runs
    stub = OpenAIStub(faults={2: "429", 5: "500"}, retry_after_s=1)
    with serve(stub, free_port()):
        monkeypatch.setenv("AIRFLOW_CONN_EMBEDDING_DEFAULT", json.dumps({
            "conn_type": "pydanticai", "host": stub.url, "password": "stub-key",  # pragma: allowlist secret
            "extra": {"model": "openai:stub-embed"}}))

        # 1. first ingest, through the stub
        states, event, run_id = _run(dagbag, 1)
        assert states == {"plan_sources": "success", "choose_embedder": "success", "ingest": "skipped",
                          "ingest_hosted[0]": "success", "ingest_hosted[1]": "success", "publish": "success"}
        assert event["embedding_model"] == "hosted" and event["embedding_model_version"] == VERSION
        assert event["dim"] == 384 and event["documents"] == 17 and event["chunks"] > 300
        requests = stub.embedding_requests()
        sent = [len(e.inputs) for e in requests]
        assert sum(sent) == event["run"]["embedded"] > 300 and max(sent) == 64
        api = stub.summary()
        assert api["outcomes"] == {"ok": len(requests), "429": 1, "500": 1}, api
        assert api["retried_requests"] == 2 and api["distinct_prompts"] == len(requests), api  # one resend per fault
        tries = task_tries(DAG_ID, run_id)
        assert tries["ingest_hosted[0]"] == tries["ingest_hosted[1]"] == 1  # absorbed by the client: no task retry
        assert KnowledgeStore().counts()["models"] == [VERSION]

        # 2. queries go through the stub too, with the store's model
        found = []
        for question, source, path, answer in demo.SEEDED_QUESTIONS:
            hits = search.hybrid_search(question, 5)
            assert stub.embedding_requests()[-1].inputs == [question]
            found.append(any(h.source == source and h.path == path and answer in h.body for h in hits))
        recall = sum(found) / len(found)
        print(f"hosted: recall@5 planted {recall:.2f} ({sum(found)}/{len(found)}); {event['chunks']} chunks in "
              f"{len(requests)} requests")
        assert recall >= 0.9, [q for q, ok in zip(demo.SEEDED_QUESTIONS, found, strict=True) if not ok]

        # 3. re-ingest, nothing changed: nothing embedded, no request sent
        n = len(stub.events)
        _, event2, _ = _run(dagbag, 2)
        assert event2["run"]["embedded"] == 0 and event2["run"]["unchanged"] == 17
        assert len(stub.events) == n and event2["chunks"] == event["chunks"]
