"""The run's Markdown report: counts, each draft's grounding (per-sentence support chart), sources used."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any


def render_chart(judged: list[dict[str, Any]], threshold: float) -> bytes:
    """Per-sentence support (MiniLM cosine with the best cited evidence) per draft, against ``min_support``."""
    from include.platform.charts import png_bytes, pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.5 * max(len(judged), 3) + 1.2))
    for y, j in enumerate(judged):
        ok = not j["verdict"]["reasons"]
        xs = [s.get("support", 0.0) for s in j["draft"]["sentences"]]
        ax.scatter(xs, [y] * len(xs), color="#2b8a3e" if ok else "#c92a2a", s=36, alpha=0.8)
    ax.axvline(threshold, color="#555", linestyle="--", linewidth=1, label=f"min_support {threshold}")
    ax.set_yticks(range(len(judged)), [j["brief"]["brief_id"] for j in judged], fontsize=8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_xlabel("support of each sentence (green: draft passed, red: quarantined)")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("content_generation — grounding")
    return png_bytes(fig, tight=True)


def render_markdown(day: date, judged: list[dict[str, Any]], prepared: dict[str, Any], gated: dict[str, Any],
                    published: dict[str, Any], chart_name: str) -> str:
    review = (f"{published['status']} by {published['reviewer']}"
              + (f" — “{published['comment']}”" if published.get("comment") else ""))
    lines = [f"# Content generation — {day.isoformat()}", "",
             f"Mode(s): {', '.join(f'`{m}`' for m in gated['modes']) or 'none'}; review: {review}.", "",
             "| briefs | count |", "|---|---|",
             f"| lines read | {prepared['lines']} |", f"| briefs quarantined (validation) | {prepared['quarantined']} |",
             f"| drafts written | {len(judged)} |", f"| drafts quarantined (grounding gate) | {published['quarantined']} |",
             f"| published to `curated/content/` and `generated_content` | {published['published']} |",
             f"| rejected by the reviewer | {published['rejected']} |", "",
             f"![grounding]({chart_name})", "", "## Drafts", "",
             "| brief | mode | sentences | words | support min / mean | cited chunks | verdict |",
             "|---|---|---|---|---|---|---|"]
    sources: Counter[str] = Counter()
    for j in judged:
        d, v = j["draft"], j["verdict"]
        hits = {h["chunk_id"]: h for h in j["hits"]}
        sources.update(f"{hits[c]['source']}/{hits[c]['path']}" for c in v["cited_chunks"])
        verdict = "passed" if not v["reasons"] else "quarantined: " + "; ".join(v["reasons"])[:300]
        lines.append(f"| `{j['brief']['brief_id']}` | {d['mode']} | {len(d['sentences'])} | {v['words']} | "
                     f"{v['min_support']:.2f} / {v['mean_support']:.2f} | {len(v['cited_chunks'])} | {verdict} |")
    lines += ["", "## Sources used (citations)", ""]
    lines += [f"- {n} × `{src}`" for src, n in sources.most_common()] or ["- none"]
    return "\n".join(lines) + "\n"
