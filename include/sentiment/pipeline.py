"""The steps of ``customer_sentiment_analysis``, each reading and writing the lake / warehouse.

DAG tasks call these functions and pass only URIs and small dicts through XCom. Every output is keyed
by the run's date (lake paths) or by natural keys (warehouse tables), so a rerun replaces instead of
duplicating:

=======================  ===============================  ==========================================
table / path             key                              written by
=======================  ===============================  ==========================================
raw_feedback             id                               :func:`extract`
feedback_quarantine      (run_date, source_file, line_no) :func:`extract`
feedback_clean           id                               :func:`prepare`
sentiment_results        (feedback_id, model_version)     :func:`load`
sentiment_daily_report   (report_date, channel)           :func:`build_report`
sentiment_negative_themes (report_date, theme)            :func:`build_report`
quarantine/sentiment/<date>/rejected.jsonl                :func:`extract` (shared quarantine format)
quarantine/sentiment/<date>/unlabeled.jsonl               :func:`load` (LLM gaps)
reports/sentiment/<date>/report.md + .png                 :func:`build_report`
=======================  ===============================  ==========================================
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from include.platform import quarantine, runs, storage, warehouse
from include.sentiment import LABELS
from include.sentiment import clean as clean_mod
from include.sentiment.validate import validate_files

log = logging.getLogger(__name__)

#: The pipeline's name in lake paths (``<zone>/sentiment/<day>/...``) and in the quarantine.
PIPELINE = "sentiment"


def _day_dir(zone: str, day: date, *parts: str) -> storage.ObjectStoragePath:
    return runs.day_path(zone, PIPELINE, day, *parts)


def _naive_utc(series: pd.Series) -> pd.Series:
    # Warehouses disagree on TIMESTAMPTZ round-trips; store UTC wall time in a plain TIMESTAMP.
    return pd.to_datetime(series, utc=True).dt.tz_convert("UTC").dt.tz_localize(None)


# --------------------------------------------------------------------------------------------- extract
def extract(day: date) -> dict[str, Any]:
    """Read ``raw/feedback/<day>/*.jsonl``, validate, upsert ``raw_feedback``, quarantine the rest.

    Each file is read as bytes and split by :mod:`include.platform.lines`, so a bad byte, a raw
    U+2028 or an absurdly nested line quarantines that line (file, line, byte offset, reason) and
    the day's other lines go on.
    """
    folder = storage.lake_path("raw", "feedback", day.isoformat())
    files = storage.list_files(folder, ".jsonl")
    result = validate_files((path.name, storage.read_bytes(path)) for path in files)
    counts = result.counts | {"files": len(files), "day": day.isoformat()}
    log.info("feedback %s: %d files, %s", day, len(files), result.counts)

    q = result.quarantined.assign(run_date=day.isoformat())
    # The shared quarantine format: source_file, line, reason first (a rerun replaces the day's file,
    # and removes it when the export was fixed).
    uri = quarantine.write_rejected(PIPELINE, day, "rejected", q.rename(columns={"line_no": "line"}))
    if uri:
        counts["quarantine_uri"] = uri
    if warehouse.table_exists("feedback_quarantine"):
        # A rerun after the export was fixed must not keep yesterday's verdicts on lines now valid.
        warehouse.execute("DELETE FROM feedback_quarantine WHERE run_date = ?", [day.isoformat()])
    # add_columns: a table from before quarantine rows carried a byte offset gains the column in place.
    warehouse.replace_rows("feedback_quarantine", q, ["run_date", "source_file", "line_no"], add_columns=True)

    valid = result.valid.assign(created_at=_naive_utc(result.valid["created_at"]), ingest_date=day.isoformat())
    warehouse.replace_rows("raw_feedback", valid, ["id"])
    valid_uri = _day_dir("curated", day, "valid.parquet")
    storage.write_parquet(valid_uri, valid)
    counts["valid_uri"] = str(valid_uri)
    return counts


# --------------------------------------------------------------------------------------------- prepare
def token_window(backend: str, model_ref: str, max_tokens: int) -> tuple[clean_mod.TokenWindow, str]:
    """The token window and the concrete model version this run will use (alias resolved once)."""
    if backend == "llm":
        return clean_mod.TokenWindow(max_tokens=max_tokens), ""
    from transformers import AutoConfig, AutoTokenizer

    from include.sentiment.modeling import resolve_source

    source = resolve_source(model_ref)
    tokenizer = AutoTokenizer.from_pretrained(source.path)
    trained = getattr(AutoConfig.from_pretrained(source.path), "genai_max_length", None)
    window = min(max_tokens, int(trained or max_tokens), int(tokenizer.model_max_length or max_tokens))
    return clean_mod.TokenWindow(max_tokens=window, tokenizer=tokenizer), source.version


def prepare(day: date, valid_uri: str, backend: str, model_ref: str, max_tokens: int,
            chunk_size: int) -> dict[str, Any]:
    """Clean texts, write ``feedback_clean``, and cut the scorable rows into chunks for mapping."""
    valid = storage.read_parquet(storage.path_from_uri(valid_uri))
    window, model_version = token_window(backend, model_ref, max_tokens)
    frame = clean_mod.prepare(valid, window)
    frame["ingest_date"] = day.isoformat()
    warehouse.replace_rows("feedback_clean", frame.drop(columns=["customer_id", "created_at"]), ["id"])
    scorable = frame[frame["status"] == "ok"].reset_index(drop=True)
    uri = _day_dir("curated", day, "to_score.parquet")
    storage.write_parquet(uri, scorable[["id", "text_model", "n_tokens", "truncated"]])
    chunks = [c | {"uri": str(uri), "label": f"rows {c['start']}-{c['stop'] - 1}", "model_version": model_version}
              for c in clean_mod.chunk_ranges(len(scorable), chunk_size)]
    status = frame["status"].value_counts()
    if scorable.empty:
        log.warning("feedback %s: none of %d valid records is scorable (all empty or duplicates after cleaning); "
                    "nothing to score, 0 rows will be loaded", day, len(frame))
    info = {
        "uri": str(uri), "chunks": chunks, "model_version": model_version, "max_tokens": window.max_tokens,
        "scorable": len(scorable), "duplicates": int(status.get("duplicate", 0)),
        "empty": int(status.get("empty", 0)), "truncated": int(frame["truncated"].sum()),
    }
    log.info("prepared %s: %s", day, {k: v for k, v in info.items() if k != "chunks"})
    return info


def read_chunk(chunk: dict[str, Any]) -> pd.DataFrame:
    frame = storage.read_parquet(storage.path_from_uri(chunk["uri"]))
    return frame.iloc[chunk["start"] : chunk["stop"]].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- score
def score_chunk(day: date, chunk: dict[str, Any], model_version: str, precision: str, batch_size: int,
                threads: int, device: str = "auto", runtime: str = "auto", variant: str = "auto") -> str:
    """Score one chunk with the classifier (ONNX Runtime or transformers); write its rows as Parquet, return the URI."""
    from include.sentiment import inference
    from include.sentiment.modeling import pick_device, resolve_source, set_threads

    set_threads(threads)
    source = resolve_source(model_version)
    metrics: dict[str, float] = {}
    if source.origin == "registry":
        from include.platform import registry

        metrics = registry.resolve(model_version).metrics
    source, runtime, chosen = inference.resolve_serving(source, metrics, runtime, precision, pick_device(device),
                                                        variant)
    clf = inference.load_classifier(source, precision=chosen, device=device, runtime=runtime, threads=threads)
    rows = read_chunk(chunk)
    start = time.perf_counter()
    scored = inference.classify(clf, rows["text_model"].tolist(), batch_size=batch_size)
    elapsed = time.perf_counter() - start
    log.info("%s: %d rows in %.2fs (%.0f rows/s, %s, %s, %d threads)", chunk.get("label"), len(rows), elapsed,
             len(rows) / max(elapsed, 1e-9), clf.path_name, clf.device, threads)
    out = pd.DataFrame({
        "feedback_id": rows["id"], "model_version": model_version, "backend": clf.path_name,
        "label": scored.labels, "score": scored.scores.astype("float64"),
        **{f"p_{label}": scored.probs[:, i].astype("float64") for i, label in enumerate(LABELS)},
        "n_tokens": rows["n_tokens"].astype("int64"), "truncated": rows["truncated"].astype(bool),
    })
    uri = _day_dir("curated", day, "scores", runs.slug(model_version), f"rows-{chunk['start']:07d}-{chunk['stop']:07d}.parquet")
    storage.write_parquet(uri, out)
    return str(uri)


def llm_prompt(chunk: dict[str, Any]) -> str:
    from include.sentiment.llm import build_prompt

    return build_prompt(read_chunk(chunk).to_dict("records"))


def llm_rows(chunks: list[dict[str, Any]], outputs: list[Any], model_version: str) -> tuple[pd.DataFrame, list[dict]]:
    """Result rows from the mapped ``llm_classify`` outputs (map index i answers chunk i); no chunks, no rows."""
    from include.sentiment.llm import parse_output

    frames, problems = [], []
    for chunk, output in zip(chunks, outputs, strict=True):
        rows = read_chunk(chunk)
        parsed, issues = parse_output(output, rows["id"].tolist())
        problems += [p | {"chunk": chunk["label"]} for p in issues]
        part = pd.DataFrame(parsed, columns=["feedback_id", "label", "score"]).merge(
            rows[["id", "n_tokens", "truncated"]].rename(columns={"id": "feedback_id"}), on="feedback_id")
        frames.append(part)
    columns = ["feedback_id", "label", "score", "n_tokens", "truncated"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    out = out.assign(model_version=model_version, backend="llm")
    for label in LABELS:
        # An LLM reports one confidence, not a distribution: the chosen label gets it, the rest is unknown.
        out[f"p_{label}"] = out["score"].where(out["label"] == label).astype("float64")
    return out, problems


def read_scores(uris: list[str]) -> pd.DataFrame:
    """The mapped ``score_chunk`` outputs as one frame; a day with nothing to score gives zero rows."""
    frames = [storage.read_parquet(storage.path_from_uri(u)) for u in uris]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS[:10])


# ------------------------------------------------------------------------------------------------ load
RESULT_COLUMNS = ["feedback_id", "model_version", "backend", "label", "score", "p_negative", "p_neutral",
                  "p_positive", "n_tokens", "truncated", "feedback_date", "scored_at"]
RESULT_KEY = ["feedback_id", "model_version"]


def load(day: date, frame: pd.DataFrame, problems: list[dict[str, Any]] | None = None,
         model_version: str = "") -> dict[str, Any]:
    """Upsert results into ``sentiment_results`` (or GCS → BigQuery when the warehouse is BigQuery).

    ``problems``: the LLM backend's unusable answers (quarantined as ``unlabeled``); None for the
    transformers backend, which leaves an earlier LLM run's list of that day alone.

    Zero rows (every valid text was empty or a duplicate) is a quiet day, not a failure: nothing is
    written, the table still exists for the report, and the result carries a ``warning`` the report shows.
    """
    frame = frame.assign(feedback_date=day.isoformat(),
                         scored_at=pd.Timestamp(datetime.now(UTC)).tz_localize(None))
    frame = frame[RESULT_COLUMNS].copy()
    for col in ("feedback_id", "model_version", "backend", "label", "feedback_date"):
        frame[col] = frame[col].astype("object")
    frame["n_tokens"] = frame["n_tokens"].astype("int64")
    frame["truncated"] = frame["truncated"].astype(bool)
    for col in ("score", "p_negative", "p_neutral", "p_positive"):
        frame[col] = frame[col].astype("float64")
    frame["scored_at"] = pd.to_datetime(frame["scored_at"])
    bad = frame[~frame["label"].isin(LABELS) | ~frame["score"].between(0, 1)]
    if len(bad):
        raise ValueError(f"{len(bad)} results have no valid label/score, e.g. {bad.head(3).to_dict('records')}")
    if problems is not None:  # an LLM run: its gaps replace the day's list (none: the list is removed)
        # Rows of the day's to-score Parquet (no line number) the LLM gave no usable label.
        path = quarantine.write_rejected(PIPELINE, day, "unlabeled", [
            {"source_file": "to_score.parquet", "line": None, **p, "run_date": day.isoformat()} for p in problems])
        if path:
            log.warning("%d feedback rows got no usable label from the LLM; listed in %s", len(problems), path)
    written = _write_results(day, frame)
    counts = frame["label"].value_counts().reindex(list(LABELS), fill_value=0)
    out = {"scored": written, "unlabeled": len(problems or []), **{k: int(v) for k, v in counts.items()},
           "model_version": str(frame["model_version"].iloc[0]) if len(frame) else model_version}
    if frame.empty:
        out["warning"] = (f"no scorable feedback on {day.isoformat()}: every valid text was empty or a duplicate "
                          "after cleaning, so 0 rows were loaded")
        log.warning("%s", out["warning"])
    return out


def _write_results(day: date, frame: pd.DataFrame) -> int:
    from include.platform.connections import connection_type
    from include.sentiment import bigquery

    conn_id = warehouse.warehouse_conn_id()
    if not bigquery.is_bigquery(connection_type(conn_id)):
        # With zero rows this still creates the (typed) table, so the report's SQL has something to read.
        return warehouse.replace_rows("sentiment_results", frame, RESULT_KEY)
    if frame.empty:
        return 0
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    from include.platform.settings import setting

    staged = _day_dir("curated", day, "load", "sentiment_results.parquet")
    storage.write_parquet(staged, frame)
    bigquery.load_and_merge(BigQueryHook(gcp_conn_id=conn_id, use_legacy_sql=False), [str(staged)],
                            dataset=setting("bigquery_dataset", "genai"),
                            table="sentiment_results", columns=RESULT_COLUMNS, key_columns=RESULT_KEY)
    return len(frame)


# ---------------------------------------------------------------------------------------------- report
def build_report(day: date, summary: dict[str, Any]) -> dict[str, Any]:
    """Run the report SQL, store ``sentiment_daily_report`` rows, write Markdown + PNG to the lake."""
    from include.sentiment import report

    hook = warehouse.get_hook()
    daily = warehouse.query(report.daily_sql(), report.report_params(day), hook=hook)
    themes = warehouse.query(report.themes_sql(), [day.isoformat()] * 3, hook=hook)
    daily = report.finish_daily(daily, day)
    themes = themes.assign(report_date=day.isoformat(), negatives=themes["negatives"].astype("int64"),
                           mean_score=themes["mean_score"].astype("float64"))
    warehouse.replace_rows("sentiment_daily_report", daily, ["report_date", "channel"], hook=hook)
    warehouse.replace_rows("sentiment_negative_themes", themes, ["report_date", "theme"], hook=hook)
    folder = _day_dir("reports", day)
    chart = storage.write_bytes(folder / "sentiment_by_channel.png", report.render_chart(daily, day))
    md = storage.write_text(folder / "report.md", report.render_markdown(day, daily, themes, summary, chart.name))
    log.info("report for %s: %s", day, md)
    return {"report_uri": str(md), "chart_uri": str(chart), "channels": len(daily) - 1, "themes": len(themes)}
