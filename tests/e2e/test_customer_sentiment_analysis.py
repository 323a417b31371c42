"""End to end: customer_sentiment_analysis on demo feedback, with the session's offline champion.

Real outcomes only: rows in each warehouse table, quarantine contents and reasons, labels and
scores, mapped chunks, the report file; reruns, an empty day and an all-malformed day.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pendulum
import pytest

from include.platform import quarantine
from tests.e2e.asset_events import run_events
from tests.e2e.sentiment_fixtures import (  # noqa: F401 - trained_sentiment is a fixture
    SCORING_DEFAULTS,
    failure_errors,
    install_champion,
    task_states,
    task_tries,
    trained_sentiment,
)

pytestmark = pytest.mark.usefixtures("airflow_db")

DAY = pendulum.datetime(2026, 11, 22, tz="UTC")
DAG_ID = "customer_sentiment_analysis"
FAST = SCORING_DEFAULTS | {"chunk_size": 64, "batch_size": 32, "threads": 2, "max_tokens": 64}
RATING_LABEL = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}


def _count(table: str, where: str = "", params=None) -> int:
    from include.platform import warehouse

    return int(warehouse.query(f"SELECT COUNT(*) AS n FROM {table} {where}", params).iloc[0]["n"])


def _seed(lake, day, per_day=150, malformed_share=0.06):
    from include.demo.writers import write_feedback

    write_feedback(day.date(), days=1, per_day=per_day, malformed_share=malformed_share)
    path = lake / "lake" / "raw" / "feedback" / day.date().isoformat() / f"export-{day.date().isoformat()}.jsonl"
    return [line for line in path.read_text().splitlines() if line.strip()]


def test_demo_days_scored_reported_and_rerun_idempotent(dagbag, lake, trained_sentiment):  # noqa: F811
    from include.platform import warehouse

    install_champion(trained_sentiment)
    dag = dagbag.get_dag(DAG_ID)
    prev = DAY - timedelta(days=1)
    _seed(lake, prev)
    assert dag.test(logical_date=prev, run_conf=FAST).state == "success"
    lines = _seed(lake, DAY)
    run = dag.test(logical_date=DAY, run_conf=FAST)
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success", states
    assert states["llm_classify"] == "skipped"
    mapped = sorted(k for k in states if k.startswith("score_chunk["))
    assert len(mapped) >= 2 and all(states[k] == "success" for k in mapped)
    (spent,) = run_events(run.run_id, "compute_spent")  # scoring spent compute; cloud_cost_report hears of it
    assert (spent["dag_id"], spent["emitted_by"], spent["backend"]) == (DAG_ID, "report", "transformers")
    assert spent["rows_scored"] > 0 and spent["run_wall_s"] > 0
    # The day's answer rides on the sentiment_results event (the Assets view shows it without a query).
    (results,) = run_events(run.run_id, "sentiment_results")
    assert results["day"] == DAY.date().isoformat() and results["scored"] == spent["rows_scored"]
    assert results["negative"] + results["neutral"] + results["positive"] == results["scored"]
    assert results["model_version"] and results["backend"] == "transformers"

    # extract: every line is either a raw_feedback row or a quarantine entry with a reason
    day = DAY.date().isoformat()
    n_raw = _count("raw_feedback", "WHERE ingest_date = ?", [day])
    q = quarantine.read_rejected("sentiment", DAY.date(), "rejected")
    assert n_raw + len(q) == len(lines) and len(q) >= 3
    assert all(r["reason"] and r["source_file"] == f"export-{day}.jsonl" and r["line"] >= 1 for r in q)
    assert _count("feedback_quarantine", "WHERE run_date = ?", [day]) == len(q)

    # prepare: statuses add up; only "ok" rows are scored
    clean = warehouse.query("SELECT status, COUNT(*) AS n FROM feedback_clean WHERE ingest_date = ? GROUP BY status",
                            [day]).set_index("status")["n"].to_dict()
    assert sum(clean.values()) == n_raw and clean.get("ok", 0) > 100
    results = warehouse.query("SELECT r.*, f.rating FROM sentiment_results r JOIN raw_feedback f ON f.id = r.feedback_id "
                              "WHERE r.feedback_date = ?", [day])
    assert len(results) == clean["ok"]
    assert set(results["label"]) <= {"negative", "neutral", "positive"}
    assert results["score"].between(0, 1).all() and results["label"].notna().all()
    assert (results["model_version"] == f"sentiment/{trained_sentiment_version(lake)}").all()
    # the defaults (variant/runtime/precision=auto) serve the fastest path whose real-text macro-F1 held for this
    # version on this CPU worker: its student if that kept the accuracy, bf16 on an AMX CPU, else PyTorch dynamic
    # int8, else the verified ONNX export (int8 or fp32)
    from include.platform import registry
    from include.sentiment import inference
    from include.sentiment.modeling import resolve_source

    ref = f"sentiment/{trained_sentiment_version(lake)}"
    metrics = registry.get_version("sentiment", trained_sentiment_version(lake)).metrics
    source, runtime, precision = inference.resolve_serving(resolve_source(ref), metrics, "auto", "auto", "cpu")
    expected = ("student3-" if source.path.endswith("student") else "") + f"{runtime}-{precision}"
    assert f"{runtime}-{precision}" in {"transformers-bf16", "transformers-int8", "onnxruntime-int8", "onnxruntime-fp32"}
    assert set(results["backend"]) == {expected}, (set(results["backend"]), expected)
    # the model is right where the customer's rating says so (a real, not a constant, classifier)
    rated = results.dropna(subset=["rating"])
    agreement = (rated["label"] == rated["rating"].astype(int).map(RATING_LABEL)).mean()
    assert agreement >= 0.8, agreement

    # report: SQL table, Markdown naming the day, PNG
    report = warehouse.query("SELECT * FROM sentiment_daily_report WHERE report_date = ?", [day]).set_index("channel")
    assert report.loc["all", "n"] == len(results)
    assert report.loc["all", "history_days"] == 1 and not pandas_isna(report.loc["all", "change_negative_vs_7d"])
    folder = lake / "lake" / "reports" / "sentiment" / day
    md = (folder / "report.md").read_text()
    assert day in md and "| all |" in md and "Most negative themes" in md
    assert (folder / "sentiment_by_channel.png").read_bytes()[:4] == b"\x89PNG"

    # rerun of the same date: zero duplicate rows anywhere
    before = {t: _count(t) for t in ("raw_feedback", "feedback_clean", "sentiment_results", "feedback_quarantine",
                                     "sentiment_daily_report")}
    assert dag.test(logical_date=DAY, run_conf=FAST).state == "success"
    assert {t: _count(t) for t in before} == before
    dupes = warehouse.query("SELECT feedback_id, model_version, COUNT(*) AS n FROM sentiment_results "
                            "GROUP BY feedback_id, model_version HAVING COUNT(*) > 1")
    assert dupes.empty


def trained_sentiment_version(lake) -> str:
    from include.platform import registry

    return registry.aliases("sentiment")["champion"]


def pandas_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_empty_day_skips_downstream(dagbag, lake):
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST)
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success"
    assert states["extract"] == "skipped"
    assert {states[t] for t in ("prepare", "load", "report")} == {"skipped"}
    assert run_events(run.run_id, "compute_spent") == []  # nothing scored, nothing to report


def test_all_malformed_day_quarantines_everything_and_succeeds(dagbag, lake):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from include.demo.feedback import feedback_lines
    from include.platform import storage

    lines = feedback_lines(DAY.date(), 40, seed=5, malformed_share=1.0)
    storage.write_text(storage.lake_path("raw", "feedback", DAY.date().isoformat(), "export.jsonl"), "\n".join(lines))
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST)
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success"
    assert states["extract"] == "success" and states["prepare"] == "skipped" and states["report"] == "skipped"
    q = quarantine.read_rejected("sentiment", DAY.date(), "rejected")
    assert len(q) == len(lines) == 40
    assert all(r["reason"] and r["source_file"] == "export.jsonl" and r["line"] >= 1 for r in q)
    with create_session() as s:
        value = s.query(XComModel).filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id="extract", key="return_value").one().value
    value = json.loads(value) if isinstance(value, str) else value
    assert value["valid"] == 0 and "malformed" in value["warning"]


def _keyword_llm(messages, info):
    """pydantic-ai's FunctionModel standing in for a hosted LLM: reads the prompt, answers structured."""
    from pydantic_ai.messages import ModelResponse, ToolCallPart, UserPromptPart

    prompt = next(p.content for m in messages for p in m.parts if isinstance(p, UserPromptPart))
    items = []
    for line in prompt.splitlines()[1:]:
        rec = json.loads(line)
        text = rec["text"].lower()
        neg = any(w in text for w in ("terrible", "awful", "worst", "unhappy", "cancel", "disappoint", "broken"))
        pos = any(w in text for w in ("great", "love", "fantastic", "superb", "excellent", "happy"))
        label = "negative" if neg else "positive" if pos else "neutral"
        if rec["id"].endswith("7"):
            continue  # a real LLM sometimes skips items: they must be reported, not invented
        items.append({"id": rec["id"], "label": label, "confidence": 0.9})
    return ModelResponse(parts=[ToolCallPart(tool_name=info.output_tools[0].name, args={"items": items})])


def test_llm_backend_through_task_llm(dagbag, lake, monkeypatch):
    from airflow.providers.common.ai.hooks.pydantic_ai import PydanticAIHook
    from pydantic_ai.models.function import FunctionModel

    from include.platform import warehouse

    monkeypatch.setenv("AIRFLOW_CONN_SENTIMENT_LLM", json.dumps({"conn_type": "pydanticai", "extra": {"model": "test"}}))
    monkeypatch.setattr(PydanticAIHook, "get_conn", lambda self: FunctionModel(_keyword_llm))
    _seed(lake, DAY, per_day=60, malformed_share=0.0)
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST | {"backend": "llm", "chunk_size": 25})
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success", states
    assert states["score_chunk"] == "skipped"
    assert sum(1 for k, v in states.items() if k.startswith("llm_classify[") and v == "success") >= 2
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as s:
        shown = sorted(ti.rendered_map_index for ti in s.query(TaskInstance).filter_by(
            dag_id=DAG_ID, run_id=run.run_id, task_id="llm_classify"))
    assert shown[0] == "rows 0-24", shown  # the map index names the chunk's row range
    day = DAY.date().isoformat()
    ok = _count("feedback_clean", "WHERE ingest_date = ? AND status = 'ok'", [day])
    results = warehouse.query("SELECT * FROM sentiment_results WHERE feedback_date = ?", [day])
    gaps = quarantine.read_rejected("sentiment", DAY.date(), "unlabeled")
    assert len(results) + len(gaps) == ok and len(gaps) >= 1
    assert all(g["reason"] == "LLM returned no label for this id" and g["source_file"] == "to_score.parquet"
               for g in gaps)
    assert (results["model_version"] == "llm:sentiment_llm:connection-model").all()
    assert results["score"].between(0, 1).all() and set(results["label"]) <= {"negative", "neutral", "positive"}
    assert (lake / "lake" / "reports" / "sentiment" / day / "report.md").exists()


# ------------------------------------------------------------------ Params that grant reach, no champion
def _small_day():
    from include.demo.feedback import feedback_lines
    from include.platform import storage

    lines = feedback_lines(DAY.date(), 6, seed=11, malformed_share=0.0)
    storage.write_text(storage.lake_path("raw", "feedback", DAY.date().isoformat(), "export.jsonl"), "\n".join(lines))


def test_path_shaped_model_params_are_refused_by_the_form(dagbag, lake):
    from airflow.sdk.exceptions import ParamValidationError

    for value in ("../../x", "/etc", "file:///etc/passwd"):
        with pytest.raises(ParamValidationError, match="param model"):
            dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST | {"model": value})


def test_unknown_hub_model_fails_at_once_with_config_error(dagbag, lake, caplog, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_ALLOWED_MODELS", raising=False)
    _small_day()
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST | {"model": "evil-org/exfiltrator"})
    states, tries = task_states(DAG_ID, run.run_id), task_tries(DAG_ID, run.run_id)
    assert run.state == "failed"
    assert states["extract"] == "failed" and tries["extract"] == 1, (states, tries)  # no retries
    assert states["prepare"] == "upstream_failed"
    (error,) = failure_errors(caplog, DAG_ID, "extract")
    assert "ConfigError(" in error and "'evil-org/exfiltrator' is not allowed" in error
    assert "genai_allowed_models" in error  # the message names the fix
    assert not (lake / "lake" / "curated" / "sentiment").exists()  # refused before anything was read


@pytest.mark.parametrize("value", ["../../x", "/etc"])
def test_path_in_the_model_variable_fails_at_once_before_anything_is_read(dagbag, lake, caplog, monkeypatch, value):
    """The Variable bypasses the form, not the config: from_params validates it against the same pattern."""
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_SENTIMENT_MODEL", value)
    _small_day()
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST)
    states, tries = task_states(DAG_ID, run.run_id), task_tries(DAG_ID, run.run_id)
    assert run.state == "failed"
    assert states["extract"] == "failed" and tries["extract"] == 1 and states["prepare"] == "upstream_failed"
    (error,) = failure_errors(caplog, DAG_ID, "extract")
    assert "ConfigError(" in error and repr(value) in error and "Variable genai_sentiment_model" in error
    assert not (lake / "lake" / "curated" / "sentiment").exists()  # refused before anything was read


def test_llm_connection_outside_the_allow_list_fails_at_once(dagbag, lake, caplog, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_GENAI_ALLOWED_CONNECTIONS", raising=False)
    _small_day()
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY,
                                      run_conf=FAST | {"backend": "llm", "llm_conn_id": "warehouse_default"})
    states, tries = task_states(DAG_ID, run.run_id), task_tries(DAG_ID, run.run_id)
    assert run.state == "failed" and states["extract"] == "failed" and tries["extract"] == 1
    (error,) = failure_errors(caplog, DAG_ID, "extract")
    assert "ConfigError(" in error and "'warehouse_default' is not allowed" in error
    assert "genai_allowed_connections" in error


def test_no_champion_fails_at_once_naming_the_training_dag(dagbag, lake, caplog):
    """A missing champion is permanent: one try, and the message says which DAG makes one."""
    from airflow.sdk.exceptions import AirflowFailException

    from include.sentiment import CHAMPION_REF, pipeline

    with pytest.raises(AirflowFailException, match="train_sentiment_model"):
        pipeline.token_window("transformers", CHAMPION_REF, 64)  # the path prepare takes, unwrapped
    _small_day()
    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST)
    states, tries = task_states(DAG_ID, run.run_id), task_tries(DAG_ID, run.run_id)
    assert run.state == "failed"
    assert states["extract"] == "success" and states["prepare"] == "failed", states
    assert tries["prepare"] == 1, tries  # not retried
    assert {states[t] for t in ("load", "report")} == {"upstream_failed"}
    (error,) = failure_errors(caplog, DAG_ID, "prepare")
    assert "train_sentiment_model" in error
