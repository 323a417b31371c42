"""End to end: content_generation over the demo knowledge base, every run a real ``dag.test()``.

The knowledge base is ingested ONCE per module with the project's own ingest code (both demo sources:
the Pydantic AI guide and the planted handbook), and its DuckDB file copied into each test's private lake.

* extractive mode (auto, no LLM connection), require_approval off: every valid brief becomes one published
  draft (files + ``generated_content`` row), every sentence cites a chunk retrieved *for that brief*, bad
  brief lines are quarantined with file, line and reason, the report is written, a rerun never duplicates;
* LLM mode through the OpenAI-compatible stub (the common-ai ``PydanticAIHook``, structured output): the
  stub writes from the prompt's context → stored drafts cite only retrieved chunk ids; the same briefs with
  a stub that adds an unsupported claim → every draft quarantined with the reason, nothing published, and
  the earlier rows and files for those keys are gone;
* local mode with a REAL ``textgen@champion`` trained by DAG ``llm_fine_tuning`` (tiny settings, once per
  module): with no champion ``choose_mode`` fails at once naming ``llm_fine_tuning``; with it every brief gets
  a ``local`` draft of generated text, each either published with every sentence's support ≥ min_support or
  quarantined with the reason naming its unsupported sentences; a rerun writes the same text and never
  duplicates ``generated_content``;
* the approval path with the REAL ``HITLOperator``: ``dag.test()`` parks the task in ``awaiting_input``; a
  thread answers through the real REST endpoint (``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/
  taskInstances/approve/-1/hitlDetails``, the route the Required Actions page calls) served in-process by
  Airflow's own FastAPI app on the same metadata DB. Approve → published with reviewer and comment;
  Reject → rows ``rejected`` with the comment, no files.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pendulum
import pytest

from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import failure_errors, task_states, task_tries

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_ID = "content_generation"
DAY = pendulum.datetime(2026, 12, 3, 6, tz="UTC")
#: Params at their defaults (dag.test() leaks conf between runs: pass all).
CONF = {"topic": "", "audience": "platform engineers", "tone": "plain and direct", "length": "medium",
        "read_lake": True, "top_k": 5, "retrieval_mode": "hybrid", "mode": "auto", "max_sentences_per_chunk": 2,
        "min_support": 0.6, "min_sentences": 2, "max_words": 1200, "min_cited_chunks": 1,
        "banned_terms": ["lorem ipsum", "as an ai language model", "http://", "https://"],
        "require_approval": False, "llm_conn_id": "content_llm", "llm_model_id": "", "llm_timeout_s": 30,
        "llm_max_retries": 2, "temperature": 0.2, "local_model": "textgen@champion", "local_tokens_per_sentence": 24,
        "local_temperature": 0.0, "local_top_p": 1.0, "local_seed": 7}
#: llm_fine_tuning at tiny sizes (test_text_generation's, with the default 128-token window); gate open.
TRAIN = {"corpus_key": "womens_clothing_reviews.jsonl", "base_model": "local:tiny-gpt2", "max_docs": 1500,
         "vocab_size": 512, "block_size": 128, "n_layer": 2, "n_embd": 64, "n_head": 2, "batch_size": 8,
         "learning_rate": 3e-3, "checkpoint_every": 100, "log_every": 50, "max_eval_blocks": 30,
         "max_new_tokens": 16, "threads": 2, "precision": "fp32", "seed": 7, "drill_crash_after_steps": 0,
         "max_steps": 150, "max_perplexity": 1e9, "min_improvement": 0.0, "max_repetition": 1.0,
         "min_distinct_2": 0.0}
BAD_LINES = [
    '{"brief_id": "broken", "topic": "backups"',  # 1: truncated JSON
    '{"topic": "a brief without an id"}',  # 2
    '{"brief_id": "kb-backups", "topic": "the same id as the seeded file"}',  # 3: duplicate
    '{"brief_id": "bad length", "topic": "escalation"}',  # 4: id with a space
    '{"brief_id": "ok-style", "topic": "how long headlines and generated articles may be", "length": "short"}',
]
UNSUPPORTED = "Our quarterly revenue grew by twelve percent thanks to the new sales team in Lisbon."


@pytest.fixture(scope="module")
def kb_file(tmp_path_factory) -> Path:
    """The demo corpus ingested once by include.rag.ingest (what ingest_knowledge_base's mapped task runs)."""
    from include.rag import demo
    from include.rag.config import IngestConfig
    from include.rag.ingest import ingest_source

    data = tmp_path_factory.mktemp("kb") / "data"
    data.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_VAR_GENAI_DATA_DIR", str(data))
        mp.delenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", raising=False)
        demo.seed_knowledge_base()
        cfg = IngestConfig.from_params({})
        for source in ("handbook", "pydantic_ai_agents"):
            assert ingest_source(cfg, source, DAY.date())["chunks_inserted"] > 0
    return data / "knowledge_base.duckdb"


@pytest.fixture(scope="module")
def champion_dir(dagbag, tmp_path_factory) -> Path:
    """llm_fine_tuning run once (promoted: the test gate is open), the champion's files in a folder."""
    from include.llm import corpus
    from include.platform import registry

    root = tmp_path_factory.mktemp("textgen-train")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_VAR_GENAI_DATA_DIR", str(root / "data"))
        mp.delenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", raising=False)
        corpus.seed_corpus()
        run = dagbag.get_dag("llm_fine_tuning").test(logical_date=pendulum.datetime(2026, 12, 1, tz="UTC"),
                                                      run_conf=TRAIN)
        assert task_states("llm_fine_tuning", run.run_id)["promote"] == "success"
        _, local = registry.download("textgen@champion", cache_dir=root / "champion")
    return local


def _seed(lake: Path, kb_file: Path) -> int:
    """The knowledge base, the demo briefs and a file with bad lines; returns the number of valid briefs."""
    from include.content.briefs import DEMO_BRIEFS, seed_briefs

    shutil.copy(kb_file, lake / "knowledge_base.duckdb")
    assert seed_briefs(DAY.date())
    (lake / "lake" / "raw" / "briefs" / DAY.date().isoformat() / "team.jsonl").write_text("\n".join(BAD_LINES) + "\n")
    return len(DEMO_BRIEFS) + 1


def _run(dagbag, **conf):
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=CONF | conf)
    return run, task_states(DAG_ID, run.run_id)


def _table():
    from include.platform import warehouse

    if not warehouse.table_exists("generated_content"):
        return None
    return warehouse.query("SELECT * FROM generated_content ORDER BY brief_id")


def _drafts(run_id: str) -> list[dict]:
    from include.platform import runs, storage

    return storage.read_json(runs.run_path("curated", DAG_ID, run_id, "drafts.json"))


def _content_dir(lake: Path) -> Path:
    return lake / "lake" / "curated" / "content" / DAY.date().isoformat()


def _assert_cites_only_retrieved(rows, drafts):
    retrieved = {d["brief"]["brief_id"]: {h["chunk_id"] for h in d["hits"]} for d in drafts}
    for r in rows.to_dict("records"):
        cited = {c for s in json.loads(r["sentences_json"]) for c in s["citations"]}
        assert cited and cited <= retrieved[r["brief_id"]], (r["brief_id"], cited - retrieved[r["brief_id"]])
        assert set(r["citations"].split(",")) == cited


def test_extractive_batch_run_publishes_grounded_cited_drafts_once(dagbag, lake, kb_file):
    from include.platform import quarantine

    valid = _seed(lake, kb_file)
    run, states = _run(dagbag)
    assert run.state == "success", states
    assert states["choose_mode"] == "success" and states["write_llm"] == "skipped", states
    assert states["approve"] == "skipped" and states["publish"] == "success" and states["report"] == "success"
    assert sum(k.startswith("retrieve[") for k in states) == valid
    assert sum(k.startswith("write_extractive[") and v == "success" for k, v in states.items()) == valid

    bad = {(q["source_file"], q["line"]): q["reason"] for q in quarantine.read_rejected(DAG_ID, DAY.date(), "briefs")}
    assert set(bad) == {("team.jsonl", n) for n in (1, 2, 3, 4)}, bad
    assert bad[("team.jsonl", 1)].startswith("invalid JSON") and bad[("team.jsonl", 2)] == "missing brief_id"
    assert "duplicate brief_id" in bad[("team.jsonl", 3)] and "demo-briefs.jsonl:2" in bad[("team.jsonl", 3)]
    assert bad[("team.jsonl", 4)].startswith("brief_id must be")

    rows = _table()
    drafts = _drafts(run.run_id)
    assert len(rows) == valid and rows["brief_id"].is_unique, rows
    assert set(rows["status"]) == {"published"} and set(rows["mode"]) == {"extractive"}
    assert set(rows["reviewer"]) == {"auto (require_approval=false)"}
    assert (rows["min_support"] >= CONF["min_support"]).all() and (rows["n_sentences"] >= 2).all()
    _assert_cites_only_retrieved(rows, drafts)
    # Extractive sentences are the sources' own sentences: each is found in a chunk it cites.
    for d in drafts:
        bodies = {h["chunk_id"]: h["body"] for h in d["hits"]}
        for s in d["draft"]["sentences"]:
            assert any(" ".join(s["text"].split()) in " ".join(bodies[c].split()) for c in s["citations"]), s
    backups = rows.set_index("brief_id").loc["kb-backups", "body_md"]
    assert "every six hours" in backups and "## Sources" in backups and "handbook/operations.md" in backups
    files = sorted(p.name for p in _content_dir(lake).iterdir())
    assert files == sorted(f"{b}{ext}" for b in rows["brief_id"] for ext in (".md", ".json"))
    (event,) = run_events(run.run_id, "generated_content")
    assert event == {"day": "2026-12-03", "status": "published", "published": valid, "rejected": 0,
                     "quarantined": 0, "modes": ["extractive"]}
    report = lake / "lake" / "reports" / DAG_ID / DAY.date().isoformat()
    text = (report / "report.md").read_text()
    assert "## Sources used (citations)" in text and "handbook/retention.html" in text
    assert (report / "grounding.png").stat().st_size > 1000

    run2, _ = _run(dagbag)
    again = _table()
    assert run2.state == "success" and len(again) == valid
    assert again["body_md"].tolist() == rows["body_md"].tolist()


def test_llm_mode_through_the_stub_cites_retrieved_chunks_and_unsupported_claims_are_quarantined(
        dagbag, lake, kb_file, monkeypatch):
    from include.platform import quarantine
    from tests.fixtures.emulators import free_port
    from tests.fixtures.openai_stub import OpenAIStub, serve

    valid = _seed(lake, kb_file)
    faithful = OpenAIStub()
    with serve(faithful, free_port()):
        monkeypatch.setenv("AIRFLOW_CONN_CONTENT_LLM", json.dumps({
            "conn_type": "pydanticai", "host": faithful.url, "password": "stub-key",  # pragma: allowlist secret
            "extra": {"model": "openai-chat:stub-content"}}))
        run, states = _run(dagbag)  # mode auto: the connection exists → llm
    assert run.state == "success", states
    assert states["write_extractive"] == "skipped"
    assert sum(k.startswith("write_llm[") and v == "success" for k, v in states.items()) == valid
    assert faithful.summary()["outcomes"] == {"ok": valid}
    rows = _table()
    assert len(rows) == valid and set(rows["mode"]) == {"llm"} and set(rows["status"]) == {"published"}
    assert set(rows["model"]) == {"llm:content_llm:connection-model"}
    _assert_cites_only_retrieved(rows, _drafts(run.run_id))
    assert len(list(_content_dir(lake).glob("*.md"))) == valid

    liar = OpenAIStub(unsupported_claim=UNSUPPORTED)
    with serve(liar, free_port()):
        monkeypatch.setenv("AIRFLOW_CONN_CONTENT_LLM", json.dumps({
            "conn_type": "pydanticai", "host": liar.url, "password": "stub-key",  # pragma: allowlist secret
            "extra": {"model": "openai-chat:stub-content"}}))
        run, states = _run(dagbag, mode="llm")
    assert run.state == "success", states
    assert states["publish"] == "success"
    rejected = quarantine.read_rejected(DAG_ID, DAY.date(), "drafts")
    assert len(rejected) == valid and {q["mode"] for q in rejected} == {"llm"}
    for q in rejected:
        assert "is not supported by the chunks it cites" in q["reason"], q["reason"]
        claim = [s for s in q["sentences"] if s["text"] == UNSUPPORTED]
        assert len(claim) == 1 and claim[0]["support"] < 0.6
    # Not published: no row, no file for any of them (the first run's are withdrawn).
    assert _table().empty and not list(_content_dir(lake).glob("*"))
    (event,) = run_events(run.run_id, "generated_content")
    assert event["published"] == 0 and event["quarantined"] == valid


def _answer_when_asked(chosen: str, comment: str, out: dict) -> threading.Thread:
    """A reviewer: waits for the approval request, then answers through Airflow's REST API."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app("core"))

    def review() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            runs = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"order_by": "-id", "limit": 1})
            if runs.status_code == 200 and runs.json()["dag_runs"]:
                run_id = runs.json()["dag_runs"][0]["dag_run_id"]
                url = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails"
                got = client.get(url)
                if got.status_code == 200 and not got.json().get("response_received"):
                    out["request"] = got.json()
                    resp = client.patch(url, json={"chosen_options": [chosen], "params_input": {"comment": comment}})
                    out["status_code"], out["response"] = resp.status_code, resp.json()
                    return
            time.sleep(1)
        out["error"] = "no approval request within 300 s"

    thread = threading.Thread(target=review, name="reviewer", daemon=True)
    thread.start()
    return thread


def test_approval_through_the_rest_api_publishes_or_records_the_rejection(dagbag, lake, kb_file, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    valid = _seed(lake, kb_file)

    seen: dict = {}
    reviewer = _answer_when_asked("Approve", "looks right", seen)
    run, states = _run(dagbag, require_approval=True)
    reviewer.join(10)
    assert seen.get("status_code") == 200, seen
    assert run.state == "success" and states["approve"] == "success" and states["publish"] == "success", states
    assert seen["request"]["options"] == ["Approve", "Reject"] and "grounding gate" in seen["request"]["body"]
    rows = _table()
    assert len(rows) == valid and set(rows["status"]) == {"published"}
    assert set(rows["review_comment"]) == {"looks right"} and set(rows["reviewer"]) == {"Anonymous"}  # the all-admins user
    assert len(list(_content_dir(lake).glob("*.md"))) == valid

    seen = {}
    reviewer = _answer_when_asked("Reject", "too close to the handbook wording", seen)
    run, states = _run(dagbag, require_approval=True)
    reviewer.join(10)
    assert seen.get("status_code") == 200, seen
    assert run.state == "success" and states["publish"] == "success", states
    rows = _table()
    assert len(rows) == valid and set(rows["status"]) == {"rejected"}
    assert set(rows["review_comment"]) == {"too close to the handbook wording"}
    assert not list(_content_dir(lake).glob("*"))  # rejected: nothing published (the earlier files withdrawn)
    (event,) = run_events(run.run_id, "generated_content")
    assert event["status"] == "rejected" and event["published"] == 0 and event["rejected"] == valid


def test_local_mode_writes_with_the_textgen_champion_and_the_gate_judges_every_sentence(
        dagbag, lake, kb_file, champion_dir, caplog):
    from include.platform import quarantine, registry

    valid = _seed(lake, kb_file)
    run, states = _run(dagbag, mode="local")  # no champion in this lake yet
    assert run.state == "failed" and states["choose_mode"] == "failed", states
    assert task_tries(DAG_ID, run.run_id)["choose_mode"] == 1
    (error,) = failure_errors(caplog, DAG_ID, "choose_mode")
    assert "mode local needs the textgen model" in error and "run DAG llm_fine_tuning first" in error, error
    assert not any(k.startswith("write_") and v == "success" for k, v in states.items()), states

    version = registry.register_model("textgen", champion_dir, alias="champion").ref
    run, states = _run(dagbag, mode="local")
    assert run.state == "success", states
    assert states["write_extractive"] == "skipped" and states["write_llm"] == "skipped", states
    assert sum(k.startswith("write_local[") and v == "success" for k, v in states.items()) == valid, states
    drafts = _drafts(run.run_id)
    assert len(drafts) == valid
    rows = _table()
    published = {} if rows is None else rows.set_index("brief_id").to_dict("index")
    rejected = {q["brief_id"]: q for q in quarantine.read_rejected(DAG_ID, DAY.date(), "drafts")}
    supports = []
    for d in drafts:
        draft, verdict, bid = d["draft"], d["verdict"], d["brief"]["brief_id"]
        assert draft["mode"] == "local" and draft["model"] == f"local:{version}"
        assert draft["generated_text"].strip(), bid
        assert draft["generation"]["window"] == TRAIN["block_size"]
        assert draft["generation"]["prompt_tokens"] + draft["generation"]["max_new_tokens"] <= TRAIN["block_size"]
        retrieved = {h["chunk_id"] for h in d["hits"]}
        for s in draft["sentences"]:  # one citation each, the retrieved chunk most similar to the sentence
            assert len(s["citations"]) == 1 and s["citations"][0] in retrieved
            assert s["support"] == pytest.approx(s["similarity"], abs=1e-3)
        supports += [s["support"] for s in draft["sentences"]]
        if not verdict["reasons"]:
            assert all(s["support"] >= CONF["min_support"] for s in draft["sentences"])
            assert published[bid]["status"] == "published" and published[bid]["mode"] == "local"
            assert bid not in rejected
        else:
            assert bid not in published and rejected[bid]["mode"] == "local"
            weak = [i + 1 for i, s in enumerate(draft["sentences"]) if s["support"] < CONF["min_support"]]
            for n in weak:
                assert f"sentence {n} is not supported by the chunks it cites" in rejected[bid]["reason"]
    passed = [d["brief"]["brief_id"] for d in drafts if not d["verdict"]["reasons"]]
    print(f"\nlocal mode: {len(passed)}/{len(drafts)} drafts passed the gate; {len(supports)} sentences, "
          f"support min {min(supports):.3f} median {sorted(supports)[len(supports) // 2]:.3f} "
          f"max {max(supports):.3f}; >= {CONF['min_support']}: {sum(x >= CONF['min_support'] for x in supports)}")
    for d in drafts:
        print(f"  {d['brief']['brief_id']}: {[s['support'] for s in d['draft']['sentences']]} "
              f"{d['verdict']['reasons'][:2]} | {d['draft']['generated_text'][:160]!r}")
    (event,) = run_events(run.run_id, "generated_content")
    assert event["modes"] == ["local"] and event["published"] == len(passed)
    assert event["quarantined"] == valid - len(passed)
    report = (lake / "lake" / "reports" / DAG_ID / DAY.date().isoformat() / "report.md").read_text()
    assert "Mode(s): `local`" in report and report.count("| local |") == valid

    run2, _ = _run(dagbag, mode="local")
    assert run2.state == "success"
    again = _drafts(run2.run_id)
    assert [d["draft"]["generated_text"] for d in again] == [d["draft"]["generated_text"] for d in drafts]
    rows2 = _table()
    n_rows = 0 if rows2 is None else len(rows2)
    assert n_rows == len(passed) and (rows2 is None or rows2["brief_id"].is_unique)
