"""Bad input at the edge: one day file holding every kind of broken line, and days with nothing to score.

customer_sentiment_analysis runs end to end (``dag.test``) with the session's offline champion. What
must hold: the run succeeds, every bad line is quarantined with its file, line, byte offset and
reason, every valid line becomes exactly one result row, and a day whose texts are all blank or
HTML-only loads zero rows with a warning instead of failing. The canary's replay recorder reads the
same file with the same reader.
"""

from __future__ import annotations

import json
import logging

import pendulum
import pytest

from tests.e2e.sentiment_fixtures import (  # noqa: F401 - trained_sentiment is a fixture
    SCORING_DEFAULTS,
    install_champion,
    task_states,
    trained_sentiment,
)

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_ID = "customer_sentiment_analysis"
DAY = pendulum.datetime(2026, 11, 23, tz="UTC")
FAST = SCORING_DEFAULTS | {"chunk_size": 64, "batch_size": 32, "threads": 2, "max_tokens": 64}
FILE = "export-bad.jsonl"
TEXTS = {
    "negative": ["Terrible delivery, the parcel arrived broken", "Support never answered, I want a refund",
                 "The app crashes every time I open checkout", "Awful billing mistake, charged twice"],
    "neutral": ["I changed my delivery address yesterday", "The invoice lists three items",
                "Asked support about the opening hours", "Updated the app to the latest version"],
    "positive": ["Great price and super fast delivery", "Support solved my problem in minutes, thank you",
                 "Love the new checkout, so easy", "Excellent quality, will buy again"],
}
RATING = {"negative": 1, "neutral": 3, "positive": 5}


def _record(i: int, text: str, label: str | None = None) -> dict:
    rec = {"id": f"fb-{i:03d}", "customer_id": f"c-{i:03d}", "text": text, "channel": ["email", "chat", "app"][i % 3],
           "created_at": "2026-11-23T09:00:00Z"}
    return rec | ({"rating": RATING[label]} if label else {})


def _line(rec: dict) -> bytes:
    return json.dumps(rec, ensure_ascii=False).encode("utf-8")


def _bad_day() -> tuple[bytes, list[dict], dict[int, str]]:
    """The file's bytes, the valid records in it, and {line number: reason prefix} for each bad line."""
    valid = [_record(i, t, label) for i, (label, t) in
             enumerate((lab, t) for lab, texts in TEXTS.items() for t in texts)]
    valid[0]["text"] = "Terrible delivery,\u2028the parcel arrived broken"  # raw U+2028 inside the string
    valid[5]["text"] = "The invoice\u2029lists three items\x85today"
    parts: list[tuple[bytes, str | None]] = [
        (_line(valid[0]), None),
        (b'{"id": "latin1", "customer_id": "c", "text": "caf\xe9 cr\xe8me", "channel": "chat", '
         b'"created_at": "2026-11-23T09:00:00Z"}', "not valid UTF-8: byte 0xe9"),
        (_line(valid[1]), None),
        (b"[" * 100_000, "nesting too deep"),
        (b"", None),  # blank: counted, not quarantined
        (_line(valid[2]) + b"\r", None),  # CRLF
        (_line(_record(900, "z" * 300_000)), "line of "),
        (_line(_record(901, "y" * 20_001)), "text: 20001 characters exceed the limit of 20000"),
        (json.dumps(_record(902, "\ud800 lone surrogate")).encode(), "string holds a lone surrogate"),
        (b'{"id": "cut", "text": "unterminated', "invalid JSON"),
        ("\u2028".encode(), "invalid JSON"),
        (b"   ", None),
        *[(_line(rec), None) for rec in valid[3:]],
        (_line(valid[4] | {"text": "sent twice"}), "duplicate id 'fb-004'"),
    ]
    data = b"\n".join(p for p, _ in parts) + b"\n"
    bad = {i: reason for i, (_, reason) in enumerate(parts, start=1) if reason}
    return data, valid, bad


def _count(table: str, where: str = "", params=None) -> int:
    from include.platform import warehouse

    return int(warehouse.query(f"SELECT COUNT(*) AS n FROM {table} {where}", params).iloc[0]["n"])


def test_every_bad_line_is_quarantined_and_every_valid_line_scored(dagbag, lake, trained_sentiment):  # noqa: F811
    import pandas as pd

    from include.platform import quarantine, storage, warehouse

    install_champion(trained_sentiment)
    day = DAY.date().isoformat()
    # A quarantine table from before byte offsets existed: the run adds the column in place.
    warehouse.replace_rows("feedback_quarantine", pd.DataFrame([{"source_file": "old.jsonl", "line_no": 1,
                                                                  "reason": "old", "raw": "{", "run_date": "2026-11-01"}]),
                           ["run_date", "source_file", "line_no"])
    data, valid, bad = _bad_day()
    storage.write_bytes(storage.lake_path("raw", "feedback", day, FILE), data)

    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST)
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success", states

    # quarantine: exactly the bad lines, each with file, line, byte offset of the line, reason
    # (read back with the shared reader: split on "\n" only, so the raw U+2028 line stays one record)
    rows = quarantine.read_rejected("sentiment", DAY.date(), "rejected")
    assert sorted(r["line"] for r in rows) == sorted(bad)
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    for r in rows:
        assert list(r)[:3] == ["source_file", "line", "reason"]
        assert r["source_file"] == FILE and r["run_date"] == day
        assert r["reason"].startswith(bad[r["line"]]), (r["line"], r["reason"])
        assert r["byte_offset"] == starts[r["line"] - 1]
    table = warehouse.query("SELECT line_no, byte_offset, reason FROM feedback_quarantine WHERE run_date = ? "
                            "ORDER BY line_no", [day])
    assert table["line_no"].tolist() == sorted(bad)
    assert table["byte_offset"].tolist() == [starts[n - 1] for n in sorted(bad)]
    assert _count("feedback_quarantine", "WHERE run_date = '2026-11-01' AND byte_offset IS NULL") == 1

    # valid in == rows out, texts intact (U+2028 / U+2029 / U+0085 stay inside their records)
    assert _count("raw_feedback", "WHERE ingest_date = ?", [day]) == len(valid)
    texts = warehouse.query("SELECT id, text FROM raw_feedback WHERE ingest_date = ?", [day]).set_index("id")["text"]
    assert texts.to_dict() == {r["id"]: r["text"] for r in valid}
    assert _count("feedback_clean", "WHERE ingest_date = ? AND status = 'ok'", [day]) == len(valid)
    results = warehouse.query("SELECT feedback_id, label FROM sentiment_results WHERE feedback_date = ?", [day])
    assert sorted(results["feedback_id"]) == sorted(r["id"] for r in valid)
    md = (lake / "lake" / "reports" / "sentiment" / day / "report.md").read_text()
    assert f"quarantined: {len(bad)}, scored: {len(valid)}" in md

    # the canary's replay recorder reads the same file with the same reader
    from include.canary.replay import record_requests

    out = storage.path_from_uri(record_requests(DAY.date(), n=100))
    replay = [json.loads(x)["text"] for x in storage.read_text(out).splitlines()]
    assert replay == [r["text"] for r in valid] + ["sent twice"]  # bad lines skipped, U+2028 text intact


@pytest.mark.parametrize("backend", ["transformers", "llm"])
def test_day_of_blank_and_html_only_texts_loads_zero_rows_with_a_warning(dagbag, lake, trained_sentiment,  # noqa: F811
                                                                         caplog, backend):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from include.platform import storage, warehouse

    install_champion(trained_sentiment)
    caplog.set_level(logging.WARNING)
    day = DAY.date().isoformat()
    texts = ["", "   ", "<p></p>", "<br/><br/>", "&nbsp;", "<div>  </div>"]
    data = b"\n".join(_line(_record(i, t)) for i, t in enumerate(texts)) + b"\n\n"
    storage.write_bytes(storage.lake_path("raw", "feedback", day, "export.jsonl"), data)

    run = dagbag.get_dag(DAG_ID).test(logical_date=DAY, run_conf=FAST | {"backend": backend})
    states = task_states(DAG_ID, run.run_id)
    assert run.state == "success", states
    assert states["load"] == "success" and states["report"] == "success"
    assert states["score_chunk"] == "skipped" and states["llm_classify"] == "skipped"
    assert _count("raw_feedback", "WHERE ingest_date = ?", [day]) == len(texts)
    assert _count("feedback_clean", "WHERE ingest_date = ? AND status = 'empty'", [day]) == len(texts)
    assert _count("sentiment_results", "WHERE feedback_date = ?", [day]) == 0
    with create_session() as s:
        loaded = s.query(XComModel).filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id="load",
                                              key="return_value").one().value
    loaded = json.loads(loaded) if isinstance(loaded, str) else loaded
    assert loaded["scored"] == 0 and "0 rows were loaded" in loaded["warning"]
    assert any("0 rows were loaded" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    md = (lake / "lake" / "reports" / "sentiment" / day / "report.md").read_text()
    assert "**Warning:** no scorable feedback" in md and "scored: 0" in md
    assert warehouse.query("SELECT n FROM sentiment_daily_report WHERE report_date = ?", [day]).empty
