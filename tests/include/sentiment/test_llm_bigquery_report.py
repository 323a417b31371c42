"""The LLM backend's prompt/parse contract, BigQuery job configs, and the report SQL on DuckDB."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from include.sentiment import bigquery, llm, report

DAY = date(2026, 11, 22)


def test_llm_prompt_and_parse_report_gaps():
    rows = [{"id": "a", "text_model": "great"}, {"id": "b", "text_model": "awful"}, {"id": "c", "text_model": "ok"}]
    prompt = llm.build_prompt(rows)
    assert '"id": "a"' in prompt and "3 customer messages" in prompt
    out = llm.ChunkSentiment(items=[
        llm.ItemSentiment(id="a", label="positive", confidence=0.9),
        llm.ItemSentiment(id="b", label="negative", confidence=0.8),
        llm.ItemSentiment(id="b", label="neutral", confidence=0.1),
        llm.ItemSentiment(id="zz", label="neutral", confidence=0.5),
    ])
    parsed, problems = llm.parse_output(out.model_dump(), ["a", "b", "c"])
    assert [r["feedback_id"] for r in parsed] == ["a", "b"] and parsed[1]["label"] == "negative"
    assert {p["id"]: p["reason"] for p in problems} == {
        "b": "LLM answered twice; first answer kept",
        "zz": "LLM answered for an id it was not asked about",
        "c": "LLM returned no label for this id",
    }
    with pytest.raises(ValueError):
        llm.ItemSentiment(id="x", label="angry", confidence=0.5)


def test_bigquery_load_and_merge_configs():
    cfg = bigquery.load_job_config(["gs://b/lake/x.parquet"], "proj", "ds", "t__staging")
    assert cfg["load"]["sourceFormat"] == "PARQUET"
    assert cfg["load"]["writeDisposition"] == "WRITE_TRUNCATE"
    assert cfg["load"]["destinationTable"] == {"projectId": "proj", "datasetId": "ds", "tableId": "t__staging"}
    with pytest.raises(ValueError, match="gs://"):
        bigquery.load_job_config(["file:///tmp/x.parquet"], "p", "d", "t")
    sql = bigquery.merge_sql("p", "d", "t", "s", ["feedback_id", "model_version", "label"],
                             ["feedback_id", "model_version"])
    assert sql.startswith("MERGE `p.d.t` T USING `p.d.s` S ON T.feedback_id = S.feedback_id AND")
    assert "UPDATE SET label = S.label" in sql and "INSERT (feedback_id, model_version, label)" in sql
    assert bigquery.is_bigquery("google_cloud_platform") and not bigquery.is_bigquery("duckdb")


def test_bigquery_jobs_go_through_the_google_hook_api():
    """The configs are valid for the real client: google-cloud-bigquery parses them into job configs."""
    from google.cloud.bigquery import LoadJobConfig, QueryJobConfig

    load = LoadJobConfig.from_api_repr(bigquery.load_job_config(["gs://b/x.parquet"], "p", "d", "t"))
    assert load.source_format == "PARQUET" and load.write_disposition == "WRITE_TRUNCATE"
    query = QueryJobConfig.from_api_repr(bigquery.query_job_config("SELECT 1"))
    assert query.use_legacy_sql is False


def test_report_sql_on_duckdb(lake):
    from include.platform import warehouse

    rows, clean = [], []
    for back in range(0, 8):
        d = DAY - timedelta(days=back)
        for i in range(10):
            fid = f"{d}-{i}"
            neg = i < (6 if back == 0 else 2)
            rows.append({"feedback_id": fid, "model_version": "sentiment/1", "label": "negative" if neg else "positive",
                         "score": 0.9, "feedback_date": d.isoformat(), "scored_at": pd.Timestamp("2026-11-22")})
            clean.append({"id": fid, "channel": "chat" if i % 2 else "email",
                          "text_clean": "the delivery was late" if neg else "great price"})
    warehouse.replace_rows("sentiment_results", pd.DataFrame(rows), ["feedback_id", "model_version"])
    warehouse.replace_rows("feedback_clean", pd.DataFrame(clean), ["id"])
    daily = report.finish_daily(warehouse.query(report.daily_sql(), report.report_params(DAY)), DAY)
    total = daily.set_index("channel").loc["all"]
    assert total["n"] == 10 and total["share_negative"] == pytest.approx(0.6)
    assert total["avg7_share_negative"] == pytest.approx(0.2) and total["history_days"] == 7
    assert total["change_negative_vs_7d"] == pytest.approx(0.4)
    assert set(daily["channel"]) == {"all", "chat", "email"}
    themes = warehouse.query(report.themes_sql(), [DAY.isoformat()] * 3)
    assert themes.iloc[0]["theme"] == "delivery" and themes.iloc[0]["negatives"] == 6
    md = report.render_markdown(DAY, daily, themes, {"model_version": "sentiment/1", "scored": 10})
    assert "2026-11-22" in md and "| all | 10 | 60.0%" in md and "+40.0 pp" in md
    png = report.render_chart(daily, DAY)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
