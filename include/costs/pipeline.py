"""The cloud_cost_report DAG's task bodies: each takes small inputs and returns a small dict.

Kept out of the DAG file so it stays configuration (no pandas at parse time) and so every step can
be called from a test or a notebook without Airflow running. Data moves through the lake (staged
Parquet per source) and the warehouse (table ``focus_costs``); XCom carries URIs and counts.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from include.costs import focus
from include.costs.load import ReplaceScope, write_rows
from include.costs.sources import focus_files
from include.platform import storage, warehouse
from include.platform.errors import PathRefused
from include.platform.settings import get_setting

log = logging.getLogger(__name__)

DEFAULT_BUDGET_USD = 1000.0


def window(day: date, lookback_days: int) -> tuple[date, date]:
    return day - timedelta(days=lookback_days - 1), day


def _staging(day: date, source: str) -> storage.ObjectStoragePath:
    return storage.lake_path("curated", "costs", "staging", day.isoformat(), f"{source}.parquet")


def _quarantine(day: date, source: str, frame: pd.DataFrame) -> str | None:
    """Write rejected rows (with their ``reason``) to ``quarantine/costs/<day>/<source>.csv``."""
    path = storage.lake_path("quarantine", "costs", day.isoformat(), f"{source}.csv")
    if frame.empty:
        if path.exists():
            path.unlink()  # a rerun that no longer rejects anything clears the old file
        return None
    storage.write_text(path, frame.to_csv(index=False))
    return str(path)


def _quarantine_files(day: date, bad_files: pd.DataFrame) -> str | None:
    """Record unreadable export files (file, line, byte offset, reason) and keep a copy of each.

    The copy (``quarantine/costs/<day>/files/<provider>/<name>``) survives the provider overwriting
    the raw file, so what was refused can still be inspected; the raw file is left in place, so a
    corrected re-delivery under the same name is simply read by the next run.
    """
    copies = []
    for uri in bad_files["file"]:
        source = storage.path_from_uri(uri, zone_name="raw")
        try:
            dest = storage.lake_path("quarantine", "costs", day.isoformat(), "files", source.parent.name, source.name)
        except PathRefused as exc:  # an odd file name: the record still names it
            log.warning("no quarantine copy of %s: %s", uri, exc)
            copies.append(None)
            continue
        storage.write_bytes(dest, storage.read_bytes(source))
        copies.append(str(dest))
    return _quarantine(day, "focus_files-files", bad_files.assign(copy=copies))


def _finite_sum(values: pd.Series) -> float:
    """Sum for the XCom summary; non-finite values are validation's to reject, not to poison JSON."""
    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    return round(float(finite.sum()), 2) if not finite.empty else 0.0


def extract_source(source: str, day: date, lookback_days: int) -> dict[str, Any]:
    """Read one source for the look-back window, stage its FOCUS rows; say why when skipped."""
    from include.costs.sources import airflow, aws, azure, gcp

    start, end = window(day, lookback_days)
    quarantined = pd.DataFrame()
    bad_files = pd.DataFrame(columns=list(focus_files.BAD_FILE_COLUMNS))
    scope: ReplaceScope | None = None
    modules = {"aws_cost_explorer": aws, "azure_cost_management": azure, "gcp_billing_export": gcp}
    if source == "airflow_platform":
        frame = airflow.fetch(start, end)
    elif source == "focus_files":
        if not focus_files.is_configured():
            return {"source": source, "status": f"skipped: nothing under {focus_files.prefix()}", "rows": 0}
        fetched = focus_files.fetch(start, end)
        frame, quarantined, bad_files = fetched.frame, fetched.quarantined, fetched.bad_files
        # Only providers whose every file was read may have their window replaced (restatements).
        scope = ReplaceScope(source, start, end, tuple(fetched.complete_providers))
    elif source in modules:
        module = modules[source]
        if not module.is_configured():
            how = {"aws_cost_explorer": "connection aws_cost_explorer (type aws)",
                   "azure_cost_management": "connection azure_cost_management (type azure, extra scope)",
                   "gcp_billing_export": "connection gcp_billing + Variable genai_cost_gcp_billing_table"}[source]
            log.info("Source %s not configured: add %s to enable it", source, how)
            return {"source": source, "status": f"skipped: add {how}", "rows": 0}
        frame = module.fetch(start, end)
        if frame.attrs.get("status", "ok") == "ok":  # the API answered for the whole window
            scope = ReplaceScope(source, start, end)
    else:
        raise ValueError(f"unknown cost source {source!r}; expected one of airflow_platform, focus_files, "
                         "aws_cost_explorer, azure_cost_management, gcp_billing_export")
    uri = str(storage.write_parquet(_staging(day, source), frame))
    q_uri = _quarantine(day, f"{source}-read", quarantined)
    files_uri = _quarantine_files(day, bad_files) if source == "focus_files" else None
    status = frame.attrs.get("status", "ok")
    if len(bad_files):
        status = f"partial: {len(bad_files)} file(s) quarantined"
    log.info("%s: %d FOCUS rows for %s..%s (%d unreadable rows, %d unreadable files)", source, len(frame), start,
             end, len(quarantined), len(bad_files))
    return {"source": source, "status": status, "rows": len(frame), "uri": uri,
            "quarantined": len(quarantined), "quarantine_uri": q_uri,
            "files_quarantined": [{"file": f, "reason": r} for f, r in zip(bad_files["file"], bad_files["reason"],
                                                                           strict=True)],
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
    q_uri = _quarantine(day, "focus-validation", outcome.quarantined)
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


def budget_usd(params: dict[str, Any]) -> float:
    """Param ``daily_budget_usd`` if set, else Variable ``genai_cost_daily_budget_usd``, else $1,000."""
    if params.get("daily_budget_usd") is not None:
        return float(params["daily_budget_usd"])
    return float(get_setting("cost_daily_budget_usd", str(DEFAULT_BUDGET_USD)) or DEFAULT_BUDGET_USD)


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


def analyze_day(day: date, params: dict[str, Any]) -> dict[str, Any]:
    """Budget check + seasonal anomaly detection for ``day``; small dict for XCom."""
    from include.costs import anomaly

    rows = read_rows(day, int(params["lookback_days"]))
    metric = params.get("cost_metric", "BilledCost")
    daily = anomaly.daily_by_service(rows, metric)
    result = anomaly.detect(daily, day, weeks=int(params["baseline_weeks"]),
                            threshold=float(params["anomaly_z_threshold"]),
                            min_impact=float(params["min_impact_usd"]))
    budget = budget_usd(params)
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


def unit_specs() -> list[dict[str, Any]]:
    from include.costs.report import DEFAULT_UNIT_METRICS

    raw = get_setting("cost_unit_metrics")
    return json.loads(raw) if raw else DEFAULT_UNIT_METRICS


def write_cost_report(day: date, loaded: dict[str, Any], findings: dict[str, Any], params: dict[str, Any]) -> dict:
    from include.costs.anomaly import AnomalyResult, Finding
    from include.costs.report import write_report

    raw = dict(findings["anomaly"])
    raw["driver"] = Finding(**raw["driver"]) if raw.get("driver") else None
    raw["services"] = [Finding(**f) for f in raw.get("services", [])]
    rows = read_rows(day, int(params["lookback_days"]))
    out = write_report(day, rows, budget=findings["budget"], anomaly=AnomalyResult(**raw), unit_specs=unit_specs(),
                       load=loaded, metric=findings["metric"])
    return {"folder": out["folder"], "report": out["report"], "total": out["total"],
            "forecast_month_end": out["forecast"]["forecast_month_end"]}
