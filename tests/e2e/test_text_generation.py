"""End to end: text_generation turns the day's prompts into gated, stored text with the real champion.

The champion is trained ONCE per module by DAG ``llm_fine_tuning`` itself (tiny settings, as in
tests/e2e/test_llm_fine_tuning.py, in a private lake), then registered as ``textgen@champion`` in each
test's own lake (a file copy through the registry). Every run is a real ``dag.test()``:

* local backend: every valid prompt yields exactly one stored output or one quarantine reason; bad
  prompt lines are quarantined with file, line and reason; greedy output is identical across reruns;
  reruns never duplicate ``generated_text``; a stricter gate on a rerun moves outputs from the table to
  the quarantine, and the original gate moves them back;
* hosted backend: the same prompts through the common-ai ``PydanticAIHook`` against our OpenAI-compatible
  stub server answering a 429 (with Retry-After) and a hung request first: the client's retries inside
  the task absorb both;
* no champion: the run fails at once (one try) naming ``llm_fine_tuning``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
import pytest

from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import failure_errors, task_states, task_tries

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_ID = "text_generation"
DAY = pendulum.datetime(2026, 12, 2, 4, tz="UTC")
TRAIN = {"corpus_key": "womens_clothing_reviews.jsonl", "base_model": "local:tiny-gpt2", "max_docs": 1500,
         "vocab_size": 512, "block_size": 64, "n_layer": 2, "n_embd": 64, "n_head": 2, "batch_size": 8,
         "learning_rate": 3e-3, "checkpoint_every": 100, "log_every": 50, "max_eval_blocks": 60,
         "max_new_tokens": 16, "threads": 2, "precision": "fp32", "seed": 7, "drill_crash_after_steps": 0,
         "max_steps": 150, "max_perplexity": 1e9, "min_improvement": 0.0, "max_repetition": 1.0,
         "min_distinct_2": 0.0}
#: text_generation Params at their defaults plus small sizes (dag.test() leaks conf between runs: pass all).
GEN = {"prompt": "", "read_lake": True, "backend": "local", "model": "textgen@champion", "max_new_tokens": 16,
       "temperature": 0.0, "top_p": 1.0, "seed": 7, "stop_sequences": [], "chunk_size": 12, "batch_size": 4,
       "threads": 2, "min_chars": 1, "max_chars": 2000, "max_repetition": 1.0, "max_perplexity": 1e9,
       "reference_model": "textgen@champion", "banned_terms": ["http://", "https://", "www."],
       "llm_conn_id": "textgen_llm", "llm_model_id": "", "llm_timeout_s": 60, "llm_max_retries": 4}
BAD_LINES = [
    '{"prompt_id": "bad-json", "prompt": "this dress is"',  # line 1: truncated JSON
    '{"prompt": "no id here"}',  # line 2
    '{"prompt_id": "too-short", "prompt": "a"}',  # line 3
    '{"prompt_id": "demo-2026-12-02-000", "prompt": "the same id again"}',  # line 4: duplicate of the seed file
    '{"prompt_id": "ok-extra", "prompt": "the fabric of this skirt"}',  # line 5: valid
]


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


def _install(champion_dir: Path) -> str:
    from include.platform import registry

    return registry.register_model("textgen", champion_dir, alias="champion").ref


def _seed(lake: Path) -> int:
    from include.textgen.prompts import DEMO_PROMPTS, seed_prompts

    assert seed_prompts(DAY.date())
    extra = lake / "lake" / "raw" / "prompts" / DAY.date().isoformat() / "team-upload.jsonl"
    extra.write_text("\n".join(BAD_LINES) + "\n")
    return len(DEMO_PROMPTS) + 1  # the valid extra line


def _run(dagbag, **conf):
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=GEN | conf)
    return run, task_states(DAG_ID, run.run_id)


def _table():
    from include.platform import warehouse

    return warehouse.query("SELECT * FROM generated_text ORDER BY prompt_id, model_version")


def _quarantine(name: str) -> list[dict]:
    from include.platform import quarantine

    return quarantine.read_rejected(DAG_ID, DAY.date(), name)


def test_local_generation_is_gated_stored_once_and_deterministic(dagbag, lake, champion_dir):
    version = _install(champion_dir)
    valid = _seed(lake)

    run, states = _run(dagbag)
    assert run.state == "success", states
    chunks = [k for k in states if k.startswith("generate_chunk[")]
    assert len(chunks) == -(-valid // GEN["chunk_size"]) and all(states[c] == "success" for c in chunks), states
    assert states["llm_generate_chunk"] == "skipped" and states["report"] == "success"

    bad = {(q["source_file"], q["line"]): q["reason"] for q in _quarantine("prompts")}
    assert set(bad) == {("team-upload.jsonl", n) for n in (1, 2, 3, 4)}, bad
    assert bad[("team-upload.jsonl", 1)].startswith("invalid JSON")
    assert bad[("team-upload.jsonl", 2)] == "missing prompt_id"
    assert "shorter than 3" in bad[("team-upload.jsonl", 3)]
    assert "duplicate prompt_id" in bad[("team-upload.jsonl", 4)] and "review-openings.jsonl:1" in bad[
        ("team-upload.jsonl", 4)]

    first = _table()
    out_q = _quarantine(f"outputs-{version.replace('/', '_')}")
    # Every valid prompt: exactly one stored output or one quarantine reason.
    assert len(first) + len(out_q) == valid and first["prompt_id"].is_unique
    assert set(first["model_version"]) == {version} and len(first) >= valid - 2, out_q
    assert first["text"].str.strip().str.len().gt(0).all()
    assert first["perplexity"].notna().all() and (first["n_new_tokens"] > 0).all()
    assert set(first["source_file"]) <= {"review-openings.jsonl", "team-upload.jsonl"}
    (spent,) = run_events(run.run_id, "compute_spent")
    assert spent["dag_id"] == "text_generation" and spent["emitted_by"] == "report" and spent["backend"] == "local"
    (event,) = run_events(run.run_id, "generated_text")
    assert event["model_version"] == version and event["published"] == len(first)
    report = (lake / "lake" / "reports" / DAG_ID / DAY.date().isoformat() / version.replace("/", "_"))
    assert "## Distributions" in (report / "report.md").read_text() and (report / "distributions.png").stat().st_size

    # Rerun: same rows, same (greedy) text, no duplicates.
    run, states = _run(dagbag)
    again = _table()
    assert run.state == "success" and len(again) == len(first)
    assert again["text"].tolist() == first["text"].tolist()

    # A stricter gate on a rerun: outputs with the banned word leave the table for the quarantine ...
    word = first["text"].str.split().explode().value_counts().index[0]
    hit = first["text"].str.lower().str.contains(rf"(?<!\w){word}(?!\w)", regex=True)
    assert 0 < hit.sum()
    run, _ = _run(dagbag, banned_terms=[word])
    strict, out_q = _table(), _quarantine(f"outputs-{version.replace('/', '_')}")
    assert set(strict["prompt_id"]) == set(first.loc[~hit, "prompt_id"])
    assert len(strict) + len(out_q) == valid and any("banned terms" in q["reason"] for q in out_q)
    # ... and come back when it is lifted.
    _run(dagbag)
    assert _table()["text"].tolist() == first["text"].tolist()


def test_sampling_is_seeded_and_form_prompt_upserts(dagbag, lake, champion_dir):
    _install(champion_dir)
    conf = {"read_lake": False, "prompt": "i ordered this dress in a medium and", "temperature": 0.9,
            "top_p": 0.9, "seed": 11}
    _run(dagbag, **conf)
    one = _table()
    _run(dagbag, **conf)
    two = _table()
    assert len(one) == len(two) == 1 and one["prompt_id"][0].startswith("form-")
    assert one["text"][0] == two["text"][0]  # same seed, same text; re-triggering updates the one row
    assert one["temperature"][0] == pytest.approx(0.9)


def test_hosted_path_through_the_stub_with_429_and_timeout(dagbag, lake, champion_dir, monkeypatch):
    from tests.fixtures.emulators import free_port
    from tests.fixtures.openai_stub import CONTINUATIONS, OpenAIStub, serve

    _install(champion_dir)
    valid = _seed(lake)
    stub = OpenAIStub(faults={1: "429", 2: "timeout"}, hang_s=4, client_timeout_s=2)
    with serve(stub, free_port()):
        monkeypatch.setenv("AIRFLOW_CONN_TEXTGEN_LLM", json.dumps({
            "conn_type": "pydanticai", "host": stub.url, "password": "stub-key",  # pragma: allowlist secret
            "extra": {"model": "openai-chat:stub-textgen"}}))
        run, states = _run(dagbag, backend="llm", chunk_size=20, llm_timeout_s=2, llm_max_retries=3)
    api = stub.summary()
    assert run.state == "success", states
    assert states["generate_chunk"] == "skipped"
    chunks = [k for k in states if k.startswith("llm_generate_chunk[")]
    assert len(chunks) == 2 and all(states[c] == "success" for c in chunks)
    assert api["outcomes"] == {"429": 1, "timeout": 1, "ok": 2}, api  # both faults retried by the client
    rows = _table()
    assert len(rows) == valid and set(rows["model_version"]) == {"llm:textgen_llm:connection-model"}
    assert set(rows["text"]) <= set(CONTINUATIONS) and rows["perplexity"].notna().all()
    assert set(rows["backend"]) == {"llm"}


def test_no_champion_fails_at_once_naming_llm_fine_tuning(dagbag, lake, caplog):
    _seed(lake)
    run, states = _run(dagbag)
    assert run.state == "failed" and states["prepare"] == "failed", states
    assert task_tries(DAG_ID, run.run_id)["prepare"] == 1
    (error,) = failure_errors(caplog, DAG_ID, "prepare")
    assert "llm_fine_tuning" in error
