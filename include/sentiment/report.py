"""``sentiment_daily_report``: the day's sentiment by channel vs the 7-day average, and negative themes.

The numbers come from SQL run in the warehouse (window functions, CTEs and ``VALUES`` lists work on
DuckDB, Postgres and Snowflake), so the same report runs where the data lives. Each feedback counts
once, with its most recent score, even when several model versions scored it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from include.platform.charts import png_bytes
from include.sentiment import LABELS

#: Keywords that name what customers talk about (the product's aspects); a negative message that
#: mentions one counts towards that theme. Extend it as the product grows.
THEMES = ("delivery", "support", "price", "app", "quality", "billing", "checkout", "refund")

_LATEST = """
latest AS (
    SELECT r.feedback_id, r.label, r.score, r.feedback_date, f.channel, f.text_clean,
           ROW_NUMBER() OVER (PARTITION BY r.feedback_id ORDER BY r.scored_at DESC) AS rn
    FROM sentiment_results r
    JOIN feedback_clean f ON f.id = r.feedback_id
    WHERE r.feedback_date BETWEEN ? AND ?
)"""

_SHARES = ", ".join(f"AVG(CASE WHEN label = '{label}' THEN 1.0 ELSE 0.0 END) AS share_{label}" for label in LABELS)

DAILY_SQL = """
WITH {latest},
daily AS (
    SELECT feedback_date, channel, COUNT(*) AS n, {shares}
    FROM latest WHERE rn = 1 GROUP BY feedback_date, channel
    UNION ALL
    SELECT feedback_date, 'all' AS channel, COUNT(*) AS n, {shares}
    FROM latest WHERE rn = 1 GROUP BY feedback_date
)
SELECT d.channel, d.n, d.share_negative, d.share_neutral, d.share_positive,
       (SELECT AVG(h.share_negative) FROM daily h
         WHERE h.channel = d.channel AND h.feedback_date < d.feedback_date) AS avg7_share_negative,
       (SELECT COUNT(*) FROM daily h
         WHERE h.channel = d.channel AND h.feedback_date < d.feedback_date) AS history_days
FROM daily d
WHERE d.feedback_date = ?
ORDER BY CASE WHEN d.channel = 'all' THEN 0 ELSE 1 END, d.channel
"""

THEMES_SQL = """
WITH {latest}
SELECT t.theme, COUNT(*) AS negatives, AVG(l.score) AS mean_score
FROM latest l
JOIN (VALUES {themes}) AS t(theme) ON lower(l.text_clean) LIKE '%' || t.theme || '%'
WHERE l.rn = 1 AND l.label = 'negative' AND l.feedback_date = ?
GROUP BY t.theme
ORDER BY negatives DESC, t.theme
"""


def daily_sql() -> str:
    """The by-channel query; parameters: (window start, day, day) as ISO dates.

    ``?`` markers throughout: ``warehouse.query`` adapts them to the engine's paramstyle.
    """
    return DAILY_SQL.format(latest=_LATEST.strip(), shares=_SHARES)


def themes_sql() -> str:
    """The negative-themes query; parameters: (day, day, day)."""
    themes = ", ".join(f"('{t}')" for t in THEMES)
    return THEMES_SQL.format(latest=_LATEST.strip(), themes=themes)


def report_params(day: date) -> list[str]:
    return [(day - timedelta(days=7)).isoformat(), day.isoformat(), day.isoformat()]


def finish_daily(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """Add the change vs the 7-day average (NULL without history) and the report date."""
    frame = frame.copy()
    for col in ("share_negative", "share_neutral", "share_positive", "avg7_share_negative"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["n"] = frame["n"].astype("int64")
    frame["history_days"] = frame["history_days"].astype("int64")
    frame["change_negative_vs_7d"] = frame["share_negative"] - frame["avg7_share_negative"]
    frame.insert(0, "report_date", day.isoformat())
    return frame


def render_chart(daily: pd.DataFrame, day: date) -> bytes:
    """Stacked shares by channel as a PNG (matplotlib, Agg: no display on a worker)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    left = pd.Series(0.0, index=daily.index)
    for label in LABELS:
        values = daily[f"share_{label}"].fillna(0.0)
        ax.barh(daily["channel"], values, left=left, color=colors[label], label=label)
        left = left + values
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("share of messages")
    ax.set_title(f"Customer sentiment by channel, {day.isoformat()}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def _pct(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"


def _pp(value: Any) -> str:
    return "n/a (no history)" if value is None or pd.isna(value) else f"{100 * float(value):+.1f} pp"


def render_markdown(day: date, daily: pd.DataFrame, themes: pd.DataFrame, summary: dict[str, Any],
                    chart_name: str = "sentiment_by_channel.png") -> str:
    """The human-readable report: counts, by-channel table, change vs 7 days, negative themes."""
    lines = [
        f"# Customer sentiment report — {day.isoformat()}",
        "",
        f"Model: `{summary.get('model_version', '?')}` (backend `{summary.get('backend', '?')}`). "
        f"Lines read: {summary.get('lines', 0)}, valid: {summary.get('valid', 0)}, "
        f"quarantined: {summary.get('quarantined', 0)}, scored: {summary.get('scored', 0)}, "
        f"duplicates dropped: {summary.get('duplicates', 0)}, empty: {summary.get('empty', 0)}, "
        f"truncated: {summary.get('truncated', 0)}.",
        "",
        *([f"> **Warning:** {summary['warning']}", ""] if summary.get("warning") else []),
        f"![sentiment by channel]({chart_name})",
        "",
        "| channel | messages | negative | neutral | positive | negative vs 7-day avg |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in daily.itertuples():
        lines.append(f"| {row.channel} | {row.n} | {_pct(row.share_negative)} | {_pct(row.share_neutral)} | "
                     f"{_pct(row.share_positive)} | {_pp(row.change_negative_vs_7d)} |")
    lines += ["", "## Most negative themes", ""]
    if themes.empty:
        lines.append("No negative message mentions a known theme today.")
    else:
        lines += ["| theme | negative messages | mean confidence |", "|---|---:|---:|"]
        lines += [f"| {r.theme} | {r.negatives} | {float(r.mean_score):.2f} |" for r in themes.itertuples()]
    return "\n".join(lines) + "\n"
