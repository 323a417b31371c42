"""The cost report: cost by provider/service/day, top movers, month-end forecast, ML unit economics.

Pure functions compute each section from FOCUS rows; :func:`write_report` renders Markdown plus
PNG charts (``charts.pyplot()``) into ``reports/cost/<date>/`` of the lake, so the report moves to S3,
GCS or ADLS with the lake. Unit economics divide a pipeline's cost (rows whose ``x_DagId`` — from
Airflow task durations, or a cloud tag/label ``airflow_dag_id`` — names the DAG) by what it
produced, read from the warehouse; a table that does not exist yet yields "n/a" and the reason,
never an error, because pipelines are deployed one at a time.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from include.costs.anomaly import AnomalyResult, describe
from include.platform import storage
from include.platform.charts import png_bytes, pyplot

log = logging.getLogger(__name__)

_IDENT = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
DATE_COLUMNS = ("run_date", "ds", "day", "date", "batch_date", "scored_at", "predicted_at", "created_at",
                "processed_at", "generated_at", "logical_date")


def cost_days(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows with a ``day`` (date) and ``cost`` (the chosen metric) column added."""
    return frame.assign(day=pd.to_datetime(frame["ChargePeriodStart"], utc=True).dt.date,
                        cost=frame[metric].astype(float))


def by_provider_day(frame: pd.DataFrame) -> pd.DataFrame:
    """Day × provider cost table (rows: days, columns: providers)."""
    return frame.pivot_table(index="day", columns="ProviderName", values="cost", aggfunc="sum", fill_value=0.0)


def by_service(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    today = frame[frame["day"] == day]
    return (today.groupby(["ProviderName", "ServiceName"], as_index=False)["cost"].sum()
            .sort_values("cost", ascending=False).reset_index(drop=True))


def top_movers(frame: pd.DataFrame, day: date, period_days: int = 7, n: int = 5) -> pd.DataFrame:
    """Services whose cost moved most between the last ``period_days`` and the ones before."""
    cur_lo = day - timedelta(days=period_days - 1)
    prev_lo, prev_hi = cur_lo - timedelta(days=period_days), cur_lo - timedelta(days=1)
    keys = ["ProviderName", "ServiceName"]
    cur = frame[(frame["day"] >= cur_lo) & (frame["day"] <= day)].groupby(keys)["cost"].sum().rename("current")
    prev = frame[(frame["day"] >= prev_lo) & (frame["day"] <= prev_hi)].groupby(keys)["cost"].sum().rename("previous")
    movers = pd.concat([cur, prev], axis=1).fillna(0.0).reset_index()
    movers["delta"] = movers["current"] - movers["previous"]
    movers["pct"] = np.where(movers["previous"] > 0, movers["delta"] / movers["previous"].where(movers["previous"] > 0),
                             np.nan)
    movers = movers.reindex(movers["delta"].abs().sort_values(ascending=False).index)
    return movers.head(n).reset_index(drop=True)


def month_end_forecast(frame: pd.DataFrame, day: date, weeks: int = 4) -> dict[str, Any]:
    """Month-to-date actual + a seasonal-naive forecast of each remaining day.

    Each remaining day is forecast as the median of the same weekday over the last ``weeks``
    weeks (robust to the spike an anomaly alert just reported, and weekday-aware).
    """
    totals = frame.groupby("day")["cost"].sum()
    month_start = day.replace(day=1)
    mtd = float(totals[(totals.index >= month_start) & (totals.index <= day)].sum())
    last = calendar.monthrange(day.year, day.month)[1]
    remaining = [day + timedelta(days=i) for i in range(1, last - day.day + 1)]
    forecast_rest = 0.0
    for d in remaining:
        latest = d - timedelta(weeks=-(-(d - day).days // 7))  # most recent same weekday <= day
        history = [float(totals.get(latest - timedelta(weeks=w), 0.0)) for w in range(weeks)]
        history = [h for h in history if h > 0] or [float(totals.tail(7).mean()) if len(totals) else 0.0]
        forecast_rest += float(np.median(history))
    return {"month": day.strftime("%Y-%m"), "month_to_date": round(mtd, 2), "remaining_days": len(remaining),
            "forecast_remaining": round(forecast_rest, 2), "forecast_month_end": round(mtd + forecast_rest, 2)}


def _table_columns(table: str) -> list[str] | None:
    from include.platform import warehouse

    if not warehouse.table_exists(table):
        return None
    return [c.lower() for c in warehouse.query(f"SELECT * FROM {table} LIMIT 0").columns]


def count_units(spec: dict[str, Any], lo: date, hi: date, frame: pd.DataFrame) -> tuple[float | None, str]:
    """How many units a pipeline produced in ``lo``..``hi`` (and how that was counted)."""
    from include.platform import warehouse

    if spec.get("count") == "dag_runs":
        runs = frame[(frame["x_DagId"] == spec["dag_id"]) & frame["x_DagRuns"].notna()]
        if runs.empty:
            return None, f"no task durations for DAG {spec['dag_id']} in the window"
        return float(runs.groupby("day")["x_DagRuns"].max().sum()), "DAG runs (Airflow REST API)"
    names = [spec["table"]] + [spec[k] for k in ("sum_column", "flag_column", "date_column") if spec.get(k)]
    bad = [n for n in names if not _IDENT.match(n)]
    if bad:  # names come from a Variable: only plain identifiers reach the SQL
        return None, f"invalid identifier(s) {bad} in Variable genai_cost_unit_metrics"
    table = spec["table"]
    columns = _table_columns(table)
    if columns is None:
        return None, f"table {table} does not exist yet"
    sum_col = (spec.get("sum_column") or "").lower()
    measure = f"SUM({sum_col})" if sum_col and sum_col in columns else "COUNT(*)"
    where, how = [], f"{measure} of {table}"
    flag = (spec.get("flag_column") or "").lower()
    if flag:
        if flag not in columns:
            return None, f"table {table} has no column {flag}"
        where.append(f"CAST({flag} AS BOOLEAN)")
        how += f" where {flag}"
    date_col = next((c for c in ([spec["date_column"].lower()] if spec.get("date_column") else []) + list(DATE_COLUMNS)
                     if c in columns), None)
    params: list[Any] = []
    if date_col is None:
        how += " (all rows: no date column)"
    else:
        ph = "?"  # warehouse.query adapts it per engine
        where.append(f"CAST({date_col} AS DATE) BETWEEN CAST({ph} AS DATE) AND CAST({ph} AS DATE)")
        params = [lo.isoformat(), hi.isoformat()]
        how += f" by {date_col}"
    sql = f"SELECT {measure} AS n FROM {table}" + (f" WHERE {' AND '.join(where)}" if where else "")
    value = warehouse.query(sql, params)["n"].iloc[0]
    return (float(value) if value is not None and not pd.isna(value) else None), how


def unit_economics(frame: pd.DataFrame, day: date, specs: list[dict[str, Any]], period_days: int = 7) -> list[dict]:
    """Cost per unit of output per pipeline over the last ``period_days`` (n/a with the reason)."""
    lo = day - timedelta(days=period_days - 1)
    window = frame[(frame["day"] >= lo) & (frame["day"] <= day)]
    out = []
    for spec in specs:
        cost = float(window.loc[window["x_DagId"] == spec["dag_id"], "cost"].sum())
        try:
            units, how = count_units(spec, lo, day, window)
        except Exception as exc:  # noqa: BLE001 - a table of another team's shape must not break the report
            units, how = None, f"could not count units: {exc}"
        per = float(spec.get("per", 1))
        value = cost / units * per if units else None
        out.append({"metric": spec["name"], "dag_id": spec["dag_id"], "cost": round(cost, 4),
                    "units": units, "unit_cost": None if value is None else round(value, 6), "counted": how,
                    "window": f"{lo.isoformat()}..{day.isoformat()}"})
    return out


def charts(frame: pd.DataFrame, day: date, movers: pd.DataFrame, budget: float) -> dict[str, bytes]:
    """PNG charts: daily cost stacked by provider (with the budget line), top services, movers."""
    plt = pyplot()
    out = {}
    table = by_provider_day(frame)
    fig, ax = plt.subplots(figsize=(10, 4))
    bottom = np.zeros(len(table))
    x = np.arange(len(table))
    for provider in table.columns:
        ax.bar(x, table[provider].to_numpy(), bottom=bottom, label=provider)
        bottom += table[provider].to_numpy()
    ax.set_xticks(x, [d.strftime("%m-%d") for d in table.index])
    ax.axhline(budget, color="red", linestyle="--", label=f"daily budget ${budget:,.0f}")
    ax.set_ylabel("USD / day")
    ax.set_title("Daily cost by provider")
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    ax.legend(fontsize=8)
    out["daily_by_provider.png"] = png_bytes(fig, tight=True)

    top = by_service(frame, day).head(10)[::-1]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh([f"{s} ({p})" for p, s in zip(top["ProviderName"], top["ServiceName"], strict=True)], top["cost"])
    ax.set_xlabel("USD")
    ax.set_title(f"Top services on {day.isoformat()}")
    out["top_services.png"] = png_bytes(fig, tight=True)

    if not movers.empty:
        fig, ax = plt.subplots(figsize=(8, 3.5))
        colors = ["tab:red" if d > 0 else "tab:green" for d in movers["delta"][::-1]]
        ax.barh(movers["ServiceName"][::-1], movers["delta"][::-1], color=colors)
        ax.set_xlabel("USD, last 7 days vs previous 7")
        ax.set_title("Top movers")
        out["top_movers.png"] = png_bytes(fig, tight=True)
    return out


def _money(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"${v:,.2f}"


def render_markdown(day: date, frame: pd.DataFrame, budget: float, anomaly: AnomalyResult, movers: pd.DataFrame,
                    forecast: dict[str, Any], units: list[dict], load: dict[str, Any], images: list[str],
                    metric: str) -> str:
    total = float(frame.loc[frame["day"] == day, "cost"].sum())
    status = "**over budget**" if total > budget else "within budget"
    lines = [f"# Cloud cost report — {day.isoformat()}", "",
             f"Total {metric} on {day.isoformat()}: **{_money(total)}** ({status}: daily budget {_money(budget)}).",
             f"Anomaly check (same-weekday robust z): {'**ANOMALY**' if anomaly.is_anomaly else 'normal'}.", "",
             "```", describe(anomaly), "```", ""]
    if "daily_by_provider.png" in images:
        lines += ["![Daily cost by provider](daily_by_provider.png)", ""]
    lines += ["## Cost by provider", "", "| provider | day | last 7 days | month to date |", "|---|---:|---:|---:|"]
    week = frame[frame["day"] > day - timedelta(days=7)]
    mtd = frame[frame["day"] >= day.replace(day=1)]
    for provider in sorted(frame["ProviderName"].unique()):
        lines.append(f"| {provider} | {_money(float(frame[(frame['day'] == day) & (frame['ProviderName'] == provider)]['cost'].sum()))} "
                     f"| {_money(float(week[week['ProviderName'] == provider]['cost'].sum()))} "
                     f"| {_money(float(mtd[mtd['ProviderName'] == provider]['cost'].sum()))} |")
    lines += ["", "## Cost by service (day)", "", "| provider | service | cost |", "|---|---|---:|"]
    for r in by_service(frame, day).head(15).itertuples():
        lines.append(f"| {r.ProviderName} | {r.ServiceName} | {_money(r.cost)} |")
    if "top_services.png" in images:
        lines += ["", "![Top services](top_services.png)"]
    lines += ["", "## Top movers (last 7 days vs previous 7)", "",
              "| provider | service | previous | current | change | % |", "|---|---|---:|---:|---:|---:|"]
    for r in movers.itertuples():
        pct = "new" if pd.isna(r.pct) else f"{r.pct:+.1%}"
        lines.append(f"| {r.ProviderName} | {r.ServiceName} | {_money(r.previous)} | {_money(r.current)} "
                     f"| {r.delta:+,.2f} | {pct} |")
    if "top_movers.png" in images:
        lines += ["", "![Top movers](top_movers.png)"]
    lines += ["", "## Month-end forecast", "",
              f"{forecast['month']}: {_money(forecast['month_to_date'])} month to date + "
              f"{_money(forecast['forecast_remaining'])} forecast for the remaining {forecast['remaining_days']} days "
              f"(median of the same weekday, last 4 weeks) = **{_money(forecast['forecast_month_end'])}**.", "",
              "## ML unit economics (last 7 days)", "", "| metric | DAG | cost | units | unit cost | counted from |",
              "|---|---|---:|---:|---:|---|"]
    for u in units:
        unit_cost = "n/a" if u["unit_cost"] is None else f"${u['unit_cost']:,.4f}"
        n = "n/a" if u["units"] is None else f"{u['units']:,.0f}"
        lines.append(f"| {u['metric']} | {u['dag_id']} | {_money(u['cost'])} | {n} | {unit_cost} | {u['counted']} |")
    lines += ["", "## Data loaded", "", "| source | status | rows | quarantined |", "|---|---|---:|---:|"]
    for source, stats in sorted(load.get("sources", {}).items()):
        lines.append(f"| {source} | {stats.get('status', '')} | {stats.get('rows', 0)} | {stats.get('quarantined', 0)} |")
    bad_files = [f for stats in load.get("sources", {}).values() for f in stats.get("files_quarantined", [])]
    if bad_files:
        lines += ["", "Files quarantined (not loaded; the other files were):", ""]
        lines += [f"- `{f['file']}`: {f['reason']}" for f in bad_files]
    lines += ["", f"FOCUS 1.2 validation: {load.get('validation', 'n/a')}.", ""]
    return "\n".join(lines)


def write_report(day: date, rows: pd.DataFrame, *, budget: float, anomaly: AnomalyResult,
                 unit_specs: list[dict[str, Any]], load: dict[str, Any], metric: str = "BilledCost") -> dict[str, Any]:
    """Compute every section and write ``reports/cost/<day>/`` (report.md, PNGs, summary.json)."""
    frame = cost_days(rows, metric)
    movers = top_movers(frame, day)
    forecast = month_end_forecast(frame, day)
    units = unit_economics(frame, day, unit_specs)
    folder = storage.lake_path("reports", "cost", day.isoformat())
    images = charts(frame, day, movers, budget) if not frame.empty else {}
    for name, data in images.items():
        storage.write_bytes(folder / name, data)
    markdown = render_markdown(day, frame, budget, anomaly, movers, forecast, units, load, list(images), metric)
    storage.write_text(folder / "report.md", markdown)
    summary = {"day": day.isoformat(), "total": round(float(frame.loc[frame["day"] == day, "cost"].sum()), 2),
               "budget": budget, "anomaly": anomaly.to_dict(), "forecast": forecast, "unit_economics": units,
               "top_movers": json.loads(movers.to_json(orient="records")), "charts": sorted(images)}
    storage.write_json(folder / "summary.json", summary)
    log.info("Cost report written to %s", folder)
    return {"folder": str(folder), "report": str(folder / "report.md"), **summary}
