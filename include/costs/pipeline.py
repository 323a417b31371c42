"""The cloud_cost_report DAG's task bodies: each takes small inputs and returns a small dict.

Kept out of the DAG file so it stays configuration (no pandas at parse time) and so every step can
be called from a test or a notebook without Airflow running. Data moves through the lake (staged
Parquet per source) and the warehouse (table ``focus_costs``); XCom carries URIs and counts. Steps
take the run's :class:`~include.costs.config.CostConfig`, never the raw Params dict.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from include.costs import focus
from include.costs.load import ReplaceScope, write_rows
from include.costs.sources import source_for
from include.platform import storage, warehouse
from include.platform.errors import PathRefused
from include.platform.quarantine import keep_copy, write_rejected
from include.platform.runs import day_path

if TYPE_CHECKING:
    from include.costs.config import CostConfig

log = logging.getLogger(__name__)

PIPELINE = "costs"


def window(day: date, lookback_days: int) -> tuple[date, date]:
    return day - timedelta(days=lookback_days - 1), day


def staging_path(day: date, source: str) -> storage.ObjectStoragePath:
    """``curated/costs/<day>/staging/<source>.parquet``: one source's FOCUS rows before validation."""
    return day_path("curated", PIPELINE, day, "staging", f"{source}.parquet")


def _keep_copies(day: date, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each unreadable export with the path of its byte-exact copy (``quarantine/costs/<day>/files/...``).

    The copy survives the provider overwriting the raw file, so what was refused can still be
    inspected; the raw file is left in place, so a corrected re-delivery under the same name is
    simply read by the next run.
    """
    out = []
    for record in files:
        source = storage.path_from_uri(record["source_file"], zone_name="raw")
        try:
            copy = keep_copy(PIPELINE, day, source, source.parent.name)
        except PathRefused as exc:  # an odd file name: the record still names it
            log.warning("no quarantine copy of %s: %s", record["source_file"], exc)
            copy = None
        out.append({**record, "copy": copy})
    return out


def _finite_sum(values: pd.Series) -> float:
    """Sum for the XCom summary; non-finite values are validation's to reject, not to poison JSON."""
    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    return round(float(finite.sum()), 2) if not finite.empty else 0.0


def extract_source(cfg: CostConfig, source: str, day: date) -> dict[str, Any]:
    """Read one source for the look-back window, stage its FOCUS rows; say why when skipped.

    Unreadable rows go to ``quarantine/costs/<day>/<source>-read.jsonl``, unreadable files to
    ``<source>-files.jsonl`` (plus a byte-exact copy); a rerun that rejects nothing removes them.
    """
    impl = source_for(source)
    start, end = window(day, cfg.lookback_days)
    why = impl.missing(cfg)
    if why:
        log.info("Source %s not configured: %s to enable it", source, why)
        return {"source": source, "status": f"skipped: {why}", "rows": 0}
    read = impl.read(cfg, start, end)
    frame = read.frame
    uri = str(storage.write_parquet(staging_path(day, source), frame))
    q_uri = write_rejected(PIPELINE, day, f"{source}-read", read.rejected_rows)
    bad_files = _keep_copies(day, read.rejected_files)
    files_uri = write_rejected(PIPELINE, day, f"{source}-files", bad_files)
    scope = ReplaceScope(source, start, end, read.providers) if read.replaces_window else None
    log.info("%s: %d FOCUS rows for %s..%s (%d unreadable rows, %d unreadable files)", source, len(frame), start,
             end, len(read.rejected_rows), len(bad_files))
    return {"source": source, "status": read.status, "rows": len(frame), "uri": uri,
            "quarantined": len(read.rejected_rows), "quarantine_uri": q_uri,
            "files_quarantined": [{"file": f["source_file"], "reason": f["reason"]} for f in bad_files],
            "files_quarantine_uri": files_uri, "replace_scope": scope.to_dict() if scope else None,
            "cost": _finite_sum(frame["BilledCost"]) if not frame.empty else 0.0}


def load_focus_rows(extracted: list[dict[str, Any]], day: date) -> dict[str, Any]:
    """Validate the staged rows against FOCUS 1.2 and upsert the valid ones into ``focus_costs``."""
    from include.costs.validation import validate

    frames = [storage.read_parquet(storage.path_from_uri(e["uri"])) for e in extracted if e.get("uri")]
    frames = [f for f in frames if not f.empty]
    combined = (pd.concat(frames, ignore_index=True) if frames else focus.empty_frame())
    combined = focus.aggregate_duplicates(combined)
    outcome = validate(combined)
    scopes = [ReplaceScope.from_dict(e["replace_scope"]) for e in extracted if e.get("replace_scope")]
    counts = write_rows(outcome.valid, scopes)
    written = counts["written"]
    q_uri = write_rejected(PIPELINE, day, "focus-validation", _validation_records(outcome.quarantined, extracted))
    per_source: dict[str, dict[str, Any]] = {}
    for e in extracted:
        per_source[e["source"]] = {"rows": int(e.get("rows", 0)), "quarantined": int(e.get("quarantined", 0)),
                                   "status": e.get("status", ""), "files_quarantined": e.get("files_quarantined", [])}
    for source, n in outcome.quarantined.get("x_Source", pd.Series(dtype=object)).value_counts().items():
        per_source.setdefault(source, {"rows": 0, "quarantined": 0})["quarantined"] += int(n)
    failed = [r for r in outcome.results if not r["success"]]
    verdict = (f"{len(outcome.results)} expectations, all passed" if not failed else
               f"{len(outcome.results) - len(failed)}/{len(outcome.results)} expectations passed; "
               f"{len(outcome.quarantined)} rows quarantined ({', '.join(sorted({r['expectation'] for r in failed}))})")
    log.info("Loaded %d FOCUS rows into %s; validation: %s", written, focus.TABLE, verdict)
    return {"rows_written": written, "rows_replaced": counts["replaced"], "quarantined": len(outcome.quarantined),
            "quarantine_uri": q_uri, "validation": verdict, "sources": per_source,
            "files_quarantined": sum(len(e.get("files_quarantined", [])) for e in extracted)}


def export_focus(cfg: CostConfig, day: date) -> dict[str, Any]:
    """Per-day FOCUS CSVs ``curated/focus/<YYYY-MM-DD>.csv`` for the look-back window the load wrote.

    The window, not only ``day``: the load replaced restated days too, and each day's file must
    follow the warehouse. Every file is overwritten whole, so a rerun writes the same files.
    """
    from include.costs.export import export_days

    return export_days(*window(day, cfg.lookback_days))


def _validation_records(rejected: pd.DataFrame, extracted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that broke a FOCUS rule, each naming the staged file of its source (no line: Parquet)."""
    staged = {e["source"]: e.get("uri") for e in extracted}
    rows = rejected.astype(object).where(rejected.notna(), None).to_dict("records")
    return [{"source_file": staged.get(row.get("x_Source")), "line": None, **row} for row in rows]


def read_rows(day: date, lookback_days: int) -> pd.DataFrame:
    """``focus_costs`` rows charged in the look-back window ending at ``day``."""
    if not warehouse.table_exists(focus.TABLE):
        return focus.empty_frame()
    start, end = window(day, lookback_days)
    cols = ", ".join(focus.TABLE_COLUMNS)
    hook = warehouse.get_hook()
    ph = "?"  # warehouse.query adapts it per engine
    frame = warehouse.query(
        f"SELECT {cols} FROM {focus.TABLE} WHERE ChargePeriodStart >= CAST({ph} AS TIMESTAMPTZ) "
        f"AND ChargePeriodStart < CAST({ph} AS TIMESTAMPTZ)",
        [f"{start.isoformat()} 00:00:00+00", f"{(end + timedelta(days=1)).isoformat()} 00:00:00+00"], hook=hook)
    for col in focus.COST_COLUMNS:
        frame[col] = pd.to_numeric(frame[col]).astype(float)
    frame["x_DagRuns"] = pd.to_numeric(frame["x_DagRuns"], errors="coerce")
    return frame


def analyze_day(cfg: CostConfig, day: date) -> dict[str, Any]:
    """Budget check + seasonal anomaly detection for ``day``; small dict for XCom."""
    from include.costs import anomaly

    rows = read_rows(day, cfg.lookback_days)
    metric = cfg.cost_metric
    daily = anomaly.daily_by_service(rows, metric)
    result = anomaly.detect(daily, day, weeks=cfg.baseline_weeks, threshold=cfg.anomaly_z_threshold,
                            min_impact=cfg.min_impact_usd)
    budget = float(cfg.daily_budget_usd)
    over = anomaly.budget_breached(result.total, budget)
    log.info("%s: total %s %.2f (budget %.2f, over=%s); anomaly=%s", day, metric, result.total, budget, over,
             result.is_anomaly)
    return {"day": day.isoformat(), "metric": metric, "total": result.total, "budget": budget,
            "over_budget": over, "anomaly": result.to_dict(), "explanation": anomaly.describe(result)}


def build_alerts(findings: dict[str, Any]) -> list[Any]:
    """The alerts a day's findings call for (none when under budget and normal)."""
    from include.platform.notify import Alert

    alerts = []
    driver = findings["anomaly"].get("driver")
    driver_text = (f"{driver['service']} ({driver['provider']})" if driver else "no single service")
    if findings["over_budget"]:
        alerts.append(Alert(
            subject=(f"Cloud cost ${findings['total']:,.2f} on {findings['day']} exceeds the daily budget "
                     f"${findings['budget']:,.2f}; driver: {driver_text}"),
            body=findings["explanation"] + f"\n\nBudget: ${findings['budget']:,.2f} ({findings['metric']}). "
                 "Change it with Param daily_budget_usd or Variable genai_cost_daily_budget_usd.",
            severity="critical", kind="budget_exceeded"))
    if findings["anomaly"].get("is_anomaly"):
        alerts.append(Alert(
            subject=f"Cost anomaly on {findings['day']}: {driver_text} drove the change",
            body=findings["explanation"], severity="warning", kind="cost_anomaly"))
    return alerts


def send_cost_alerts(findings: dict[str, Any], context: dict[str, Any]) -> list[str]:
    from include.platform.notify import send_alert

    channels: list[str] = []
    for alert in build_alerts(findings):
        channels += [f"{alert.severity}:{c}" for c in send_alert(alert, context)]
    if not channels:
        log.info("%s: under budget and no anomaly; no alert sent", findings["day"])
    return channels


def write_cost_report(cfg: CostConfig, day: date, loaded: dict[str, Any], findings: dict[str, Any],
                      context: dict[str, Any] | None = None) -> dict:
    """``reports/cost/<day>/``; with a task ``context``, the day's totals also go on the ``cost_report`` event
    (the Assets view then answers "what did we spend, against which budget" without opening the report)."""
    from include.costs.anomaly import AnomalyResult, Finding
    from include.costs.report import write_report

    raw = dict(findings["anomaly"])
    raw["driver"] = Finding(**raw["driver"]) if raw.get("driver") else None
    raw["services"] = [Finding(**f) for f in raw.get("services", [])]
    rows = read_rows(day, cfg.lookback_days)
    out = write_report(day, rows, budget=findings["budget"], anomaly=AnomalyResult(**raw),
                       unit_specs=cfg.unit_metrics, load=loaded, metric=findings["metric"])
    if context is not None and context.get("outlet_events") is not None:
        from include.platform.assets import COST_REPORT

        context["outlet_events"][COST_REPORT].extra = cost_event_extra(out, findings)
    return {"folder": out["folder"], "report": out["report"], "total": out["total"],
            "forecast_month_end": out["forecast"]["forecast_month_end"]}


def cost_event_extra(summary: dict[str, Any], findings: dict[str, Any]) -> dict[str, Any]:
    """What an analyst asks of a cost day, as plain JSON: total vs budget, forecast, anomaly, top movers."""
    anomaly = summary.get("anomaly") or {}
    return {"day": summary["day"], "total": summary["total"], "budget": summary.get("budget"),
            "metric": findings.get("metric"),
            "forecast_month_end": (summary.get("forecast") or {}).get("forecast_month_end"),
            "anomaly": bool(anomaly.get("is_anomaly")), "anomaly_z": anomaly.get("z"),
            "anomaly_driver": (anomaly.get("driver") or {}).get("service"),
            "top_movers": (summary.get("top_movers") or [])[:5], "report": summary["report"]}
