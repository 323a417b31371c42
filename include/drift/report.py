"""The drift report a person reads: a Markdown table plus one PNG per column, written every run.

Plots compare reference and current distributions (overlaid density histograms for numeric
columns, side-by-side shares for categorical ones); drifted columns get a red title so the eye
lands on them first.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from include.drift.detect import DriftResult
from include.platform import storage
from include.platform.charts import png_bytes, pyplot

log = logging.getLogger(__name__)


def _fmt(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.4g}"


def markdown_table(result: DriftResult) -> str:
    frame = result.frame()
    if result.config.method == "evidently":
        lines = ["| column | role | type | test | score | threshold | drifted | PSI |",
                 "|---|---|---|---|---|---|---|---|"]
        for _, row in frame.iterrows():
            mark = "**yes**" if row["drifted"] else "no"
            lines.append(f"| {row['column']} | {row['role']} | {row['column_type']} | {row['test']} "
                         f"({row['score_kind']}) | {_fmt(row['score'])} | {row['threshold']:g} | {mark} "
                         f"| {_fmt(row['psi'])} |")
        return "\n".join(lines)
    lines = ["| column | role | type | effect | min effect | adj. p | missing ref -> cur | drifted | PSI | why |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for _, row in frame.iterrows():
        mark = "**yes**" if row["drifted"] else "no"
        lines.append(f"| {row['column']} | {row['role']} | {row['column_type']} | {_fmt(row['score'])} "
                     f"({row['score_kind']}) | {row['threshold']:g} | {_fmt(row['p_adjusted'])} "
                     f"| {row['missing_reference']:.1%} -> {row['missing_current']:.1%} | {mark} "
                     f"| {_fmt(row['psi'])} | {row['reason']} |")
    return "\n".join(lines)


def method_note(result: DriftResult) -> str:
    cfg = result.config
    if cfg.method == "evidently":
        return ("tests chosen like Evidently's data-drift preset (KS / chi-squared / Z at p < 0.05 for a reference "
                "of <= 1000 rows, normed Wasserstein / Jensen-Shannon at 0.1 above).")
    return (f"a column drifts when a shift is significant after {cfg.correction.upper()} control at "
            f"{cfg.fdr:g} across all tests of the batch AND at least the minimum effect: Wasserstein/std "
            f">= {cfg.min_effect_numeric:g} (numeric, KS test), Hellinger >= {cfg.min_effect_categorical:g} "
            f"(categorical, chi-squared homogeneity with rare categories pooled), or a missing-share change of "
            f"Cohen's h >= {cfg.min_effect_missing:g} (z-test).")


def plot_column(reference: pd.Series, current: pd.Series, numeric: bool, drifted: bool) -> bytes:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3))
    ref, cur = reference.dropna(), current.dropna()
    if numeric and ref.nunique() > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref.to_numpy(float), cur.to_numpy(float)]), bins=30)
        ax.hist(ref, bins=edges, density=True, alpha=0.55, label="reference")
        ax.hist(cur, bins=edges, density=True, alpha=0.55, label="current")
    else:
        keys = sorted(set(ref.unique()) | set(cur.unique()), key=str)
        x = np.arange(len(keys))
        ax.bar(x - 0.2, ref.value_counts(normalize=True).reindex(keys, fill_value=0), 0.4, label="reference")
        ax.bar(x + 0.2, cur.value_counts(normalize=True).reindex(keys, fill_value=0), 0.4, label="current")
        ax.set_xticks(x, [str(k) for k in keys], rotation=30, fontsize=7)
    ax.set_title(f"{reference.name}{' (drifted)' if drifted else ''}", color="red" if drifted else "black")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return png_bytes(fig, dpi=80)


def write_report(
    result: DriftResult,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    dest: storage.ObjectStoragePath,
    *,
    title: str,
    prediction_scores: tuple[np.ndarray, np.ndarray] | None = None,
    notes: list[str] | None = None,
) -> dict[str, str]:
    """Write ``drift.md``, ``drift.json`` and ``plots/<column>.png`` under ``dest``; return their URIs."""
    written: dict[str, str] = {}
    frame = result.frame()
    plots = []
    for _, row in frame.iterrows():
        name = row["column"]
        if row["role"] == "prediction":
            if prediction_scores is None:
                continue
            ref_s = pd.Series(prediction_scores[0], name="prediction")
            cur_s = pd.Series(prediction_scores[1], name="prediction")
        else:
            ref_s, cur_s = reference[name], current[name]
        png = plot_column(ref_s, cur_s, row["column_type"] == "numeric", bool(row["drifted"]))
        storage.write_bytes(dest / "plots" / f"{name}.png", png)
        plots.append(name)
    summary = result.summary()
    body = [
        f"# {title}",
        "",
        f"- Columns tested: {summary['n_columns']}, drifted: {summary['n_drifted']} "
        f"({summary['drifted_share']:.0%}); dataset drift when >= {summary['drift_share_threshold']:.0%}: "
        f"**{'yes' if summary['dataset_drift'] else 'no'}**",
        f"- Reference rows: {len(reference)}, current rows: {len(current)}; method {result.config.method}: "
        f"{method_note(result)}",
        *(f"- {n}" for n in (notes or [])),
        "",
        markdown_table(result),
        "",
        "## Per-column distributions",
        "",
        *(f"![{p}](plots/{p}.png)" for p in plots),
        "",
    ]
    written["markdown"] = str(storage.write_text(dest / "drift.md", "\n".join(body)))
    written["json"] = str(storage.write_json(dest / "drift.json", {
        "summary": summary,
        "columns": json.loads(frame.to_json(orient="records")),
    }))
    written["plots"] = str(dest / "plots")
    log.info("Drift report written to %s (%d plots)", dest, len(plots))
    return written
