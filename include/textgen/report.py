"""The run's Markdown report: counts, length and perplexity distributions (PNG), examples, quarantine reasons."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd


def _quantiles(series: pd.Series) -> str:
    s = series.dropna()
    if s.empty:
        return "n/a"
    q = s.quantile([0.05, 0.5, 0.95])
    return f"p5 {q.iloc[0]:.1f} · median {q.iloc[1]:.1f} · p95 {q.iloc[2]:.1f} · max {s.max():.1f}"


def render_chart(judged: pd.DataFrame, published: dict[str, Any]) -> bytes:
    """Two histograms: output length (characters) and perplexity, published vs quarantined."""
    from include.platform.charts import png_bytes, pyplot

    plt = pyplot()
    ok = judged["reasons"].fillna("") == ""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, col, title in ((ax1, judged["text"].fillna("").str.len(), "output length (characters)"),
                           (ax2, judged["perplexity"], "perplexity under the reference model")):
        for mask, label, color in ((ok, "published", "#2b8a3e"), (~ok, "quarantined", "#c92a2a")):
            values = pd.to_numeric(col[mask], errors="coerce").dropna()
            if len(values):
                ax.hist(values, bins=20, alpha=0.7, label=f"{label} ({len(values)})", color=color)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle(f"text_generation — {published['model_version']}")
    return png_bytes(fig, tight=True)


def render_markdown(day: date, judged: pd.DataFrame, prepared: dict[str, Any], published: dict[str, Any],
                    chart_name: str) -> str:
    ok = judged[judged["reasons"].fillna("") == ""]
    bad = judged[judged["reasons"].fillna("") != ""]
    lines = [f"# Text generation — {day.isoformat()} — `{published['model_version']}`", "",
             f"Backend `{published['backend']}`; perplexity reference `{published['reference_model'] or 'none'}` "
             "(the default reference is the champion itself: a check for improbable text, not an independent judge).",
             "",
             "| prompts | count |", "|---|---|",
             f"| lines read | {prepared['lines']} |", f"| prompts quarantined (validation) | {prepared['quarantined']} |",
             f"| valid prompts | {published['valid_prompts']} |", f"| published to `generated_text` | {published['published']} |",
             f"| outputs quarantined (quality gate) | {published['quarantined_outputs']} |", "",
             "## Distributions", "",
             f"- output length (characters), published: {_quantiles(ok['text'].str.len())}",
             f"- perplexity, published: {_quantiles(ok['perplexity'])}",
             f"- new tokens, published: {_quantiles(pd.to_numeric(ok['n_new_tokens'], errors='coerce'))}", "",
             f"![distributions]({chart_name})", "", "## Examples (published)", ""]
    for r in ok.head(8).to_dict("records"):
        lines.append(f"- **{r['prompt']}** → {r['text']!r}")
    if len(bad):
        lines += ["", "## Quarantined outputs (reasons)", ""]
        counts = bad["reasons"].str.split("; ").explode().str.replace(r"\s[\d.]+\s", " N ", regex=True).value_counts()
        lines += [f"- {n} × {reason}" for reason, n in counts.head(10).items()]
        lines += ["", "Examples:", ""]
        lines += [f"- **{r['prompt']}** → {r['text']!r} — {r['reasons']}" for r in bad.head(5).to_dict("records")]
    return "\n".join(lines) + "\n"
