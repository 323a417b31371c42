"""The Reports and Models pages' plain logic: listing the lake's reports, safe rendering, path guard, registry view.

Reports here are written by the sentiment DAG's own report functions (include/sentiment/report.py),
into a private local lake, so the listing sees the files a real run leaves.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from include.platform import models_view, reports_view, storage, ui_pages
from include.platform.errors import PathRefused

DAY = date(2026, 11, 22)
EVIL = "<script>alert('x')</script>"


def _daily(channel: str = "email") -> pd.DataFrame:
    from include.sentiment import report

    frame = pd.DataFrame([
        {"channel": "ALL", "n": 40, "share_negative": 0.25, "share_neutral": 0.25, "share_positive": 0.5,
         "avg7_share_negative": 0.2, "history_days": 3},
        {"channel": channel, "n": 40, "share_negative": 0.25, "share_neutral": 0.25, "share_positive": 0.5,
         "avg7_share_negative": 0.2, "history_days": 3},
    ])
    return report.finish_daily(frame, DAY)


def _write_sentiment_report(day: date, channel: str = "email", warning: str = "") -> storage.ObjectStoragePath:
    """What customer_sentiment_analysis.report writes: report.md + the chart beside it."""
    from include.sentiment import report

    daily = _daily(channel)
    themes = pd.DataFrame({"theme": ["refund"], "negatives": [3], "mean_score": [0.9]})
    folder = storage.lake_path("reports", "sentiment", day.isoformat())
    chart = storage.write_bytes(folder / "sentiment_by_channel.png", report.render_chart(daily, day))
    summary = {"model_version": "sentiment/1", "backend": "transformers", "lines": 40, "valid": 40, "scored": 40,
               "warning": warning}
    return storage.write_text(folder / "report.md", report.render_markdown(day, daily, themes, summary, chart.name))


def test_listing_groups_reports_by_dag_newest_first(lake):
    _write_sentiment_report(DAY - timedelta(days=1))
    time.sleep(0.02)
    _write_sentiment_report(DAY)
    for version in ("3", "10"):
        storage.write_text(storage.lake_path("reports", "llm_fine_tuning", f"v{version}", "report.md"), "# v\n")
    storage.write_text(storage.lake_path("reports", "adaptive_retraining", DAY.isoformat(), "search", "search-r1.md"), "#")
    storage.write_json(storage.lake_path("reports", "alerts", DAY.isoformat(), "x", "k.slack.json"), {})  # not a report
    storage.write_text(storage.lake_path("reports", "sentiment", DAY.isoformat(), ".report.md.123.tmp"), "half")

    listed = reports_view.list_reports()
    assert list(listed) == ["adaptive_retraining", "customer_sentiment_analysis", "llm_fine_tuning"]
    sentiment = listed["customer_sentiment_analysis"]
    assert [r.rel for r in sentiment] == ["2026-11-22/report.md", "2026-11-21/report.md"]
    assert sentiment[0].day == "2026-11-22" and sentiment[0].title == "2026-11-22" and sentiment[0].folder == "sentiment"
    assert sentiment[0].url == "customer_sentiment_analysis/2026-11-22/report.md"
    assert sentiment[0].modified is not None and sentiment[0].modified.tzinfo is not None
    assert [r.rel for r in listed["llm_fine_tuning"]] == ["v10/report.md", "v3/report.md"]  # v10 after v9, not before
    assert listed["adaptive_retraining"][0].day == "2026-11-22"
    # One DAG only: the same answer from its prefix.
    assert reports_view.list_reports("customer_sentiment_analysis") == {"customer_sentiment_analysis": sentiment}
    assert reports_view.list_reports("text_generation") == {}


def test_rendering_escapes_html_from_data(lake):
    md = _write_sentiment_report(DAY, channel=EVIL, warning=f"feedback said {EVIL} <img src=x onerror=alert(1)>")
    text = storage.read_text(md)
    assert EVIL in text  # the report keeps the data as written ...
    html = reports_view.render_markdown(text + "\n[click](javascript:alert(1))\n")
    assert "<script" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in html or "&lt;script&gt;alert(&#x27;x&#x27;)" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # ... and the page shows it as text
    assert 'href="javascript' not in html
    assert '<img src="sentiment_by_channel.png"' in html and "<table>" in html
    # The whole page: the one script is the nonce'd sorter; data never becomes markup.
    report = reports_view.list_reports()["customer_sentiment_analysis"][0]
    page = ui_pages.render("report", base="/genai", nonce="n0nce", title=EVIL, report=report, body=html,
                           others=[], location=str(md))
    assert page.count("<script") == 1 and '<script nonce="n0nce">' in page
    assert "<title>&lt;script&gt;" in page


@pytest.mark.parametrize("rel", ["../x", "2026-11-22/../../../etc/passwd", "/etc/passwd", "%2e%2e/x",
                                 "%252e%252e/x", "a/%2F/b", "a\\..\\b", "C:/x", "~/.ssh/id_rsa", "a//b"])
def test_paths_outside_the_reports_zone_are_refused(lake, rel):
    with pytest.raises(PathRefused):
        reports_view.report_path("customer_sentiment_analysis", rel)


@pytest.mark.parametrize("dag_id", ["..", "alerts", "a/b", "%2e%2e"])
def test_dag_ids_that_are_not_report_folders_are_refused(lake, dag_id):
    with pytest.raises(PathRefused):
        reports_view.report_path(dag_id, "report.md")


def test_only_report_side_files_are_served():
    assert reports_view.asset_type("2026-11-22/chart.png") == "image/png"
    assert reports_view.asset_type("x/steps.csv").startswith("text/plain")
    for rel in ("x.html", "x.svg", "x.htm", "x.js", "noext", "dir.png/x"):
        assert reports_view.asset_type(rel) is None, rel


def test_a_run_finds_the_report_it_wrote(lake):
    start = datetime.now(UTC)
    _write_sentiment_report(DAY)
    end = datetime.now(UTC)
    older = storage.lake_path("reports", "sentiment", "2026-11-01", "report.md")
    storage.write_text(older, "# old\n")
    past = time.time() - 3600
    os.utime(older.path, (past, past))
    found = reports_view.reports_for_run("customer_sentiment_analysis", start, end, "2026-11-22")
    assert [r.rel for r in found] == ["2026-11-22/report.md"]
    # A run that wrote nothing (report skipped) falls back to its day's folder; an unknown day to nothing.
    later = datetime.now(UTC) + timedelta(hours=2)
    assert [r.rel for r in reports_view.reports_for_run("customer_sentiment_analysis", later, later, "2026-11-01")] \
        == ["2026-11-01/report.md"]
    assert reports_view.reports_for_run("customer_sentiment_analysis", later, later, "2025-01-01") == []


def test_the_previous_runs_report_written_just_before_the_start_is_not_this_runs(lake):
    """max_active_runs=1 and three lake arrivals: the run for yesterday's folder ends and this run
    starts within a second or two; the Report link must open this run's day, not a list of both."""
    yesterday = storage.lake_path("reports", "sentiment", "2026-11-21", "report.md")
    storage.write_text(yesterday, "# yesterday\n")
    start = datetime.now(UTC)
    just_before = start.timestamp() - 0.5  # within any store's one-second rounding
    os.utime(yesterday.path, (just_before, just_before))
    _write_sentiment_report(DAY)
    end = datetime.now(UTC)
    found = reports_view.reports_for_run("customer_sentiment_analysis", start, end, DAY.isoformat())
    assert [r.rel for r in found] == ["2026-11-22/report.md"]
    # Two seconds before the start is the previous run's, whatever this run's day is.
    two_before = start.timestamp() - 2
    os.utime(yesterday.path, (two_before, two_before))
    found = reports_view.reports_for_run("customer_sentiment_analysis", start, end, "2026-12-01")
    assert [r.rel for r in found] == ["2026-11-22/report.md"]


def test_models_view_shows_versions_aliases_and_decisions(lake, tmp_path):
    from include.platform import lifecycle

    weights = tmp_path / "m"
    weights.mkdir()
    for i in (1, 2):
        (weights / "config.json").write_text(f'{{"v": {i}}}')
        mv = lifecycle.register("sentiment", weights, registered_by="train_sentiment_model.train",
                                metrics={"macro_f1": 0.7 + i / 10}, challenger=True)
        lifecycle.apply_verdict("sentiment", mv.version, lifecycle.Verdict(
            "promote", "train_sentiment_model.promote", reasons=(f"macro F1 {0.7 + i / 10:.2f} beats the champion",),
            metrics={"macro_f1": 0.7 + i / 10}))
    (weights / "config.json").write_text('{"v": 3}')
    mv3 = lifecycle.register("sentiment", weights, registered_by="train_sentiment_model.train",
                             metrics={"macro_f1": 0.5}, challenger=True)
    lifecycle.apply_verdict("sentiment", mv3.version, lifecycle.Verdict(
        "reject", "train_sentiment_model.promote", reasons=(f"macro F1 0.50 below the floor {EVIL}",),
        metrics={"macro_f1": 0.5}))

    [model] = models_view.list_models()
    assert model.name == "sentiment" and model.producer == "train_sentiment_model"
    assert model.champion == "2" and model.aliases["previous"] == "1" and "challenger" not in model.aliases
    assert [(v["version"], v["status"], v["aliases"]) for v in model.versions] == [
        ("3", "rejected", []), ("2", "champion", ["champion"]), ("1", "retired", ["previous"])]
    assert model.versions[1]["metrics"] == {"macro_f1": pytest.approx(0.9)}
    assert [(h["version"], h["decision"]) for h in model.history][0] == ("3", "reject")
    assert {h["decision"] for h in model.history} == {"reject", "promote"}

    page = ui_pages.render("models", base="/genai", nonce="n", title="Models", lake="x", models=[model])
    assert 'data-alias="champion">champion: v2<' in page and "<script>alert" not in page
    assert "&lt;script&gt;" in page and "train_sentiment_model.promote" in page


def test_a_corrupt_alias_file_does_not_hide_the_other_models(lake, tmp_path):
    from include.platform import lifecycle

    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "config.json").write_text("{}")
    for name in ("churn", "sentiment"):
        lifecycle.register(name, tmp_path / "w", registered_by="t.t")
    storage.write_json(storage.lake_path("models", "churn", "aliases.json"), {"champion": "../../x"})
    churn, sentiment = models_view.list_models()
    assert churn.error and "aliases.json" in churn.error
    assert sentiment.error is None and sentiment.versions[0]["status"] == "registered"
