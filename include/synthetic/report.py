"""The human-readable report: real vs synthetic marginals, correlation matrices side by side, metric table.

Charts are PNGs (matplotlib, Agg backend: no display on workers) written next to a Markdown file
that embeds them, so the folder renders as-is in any Git/S3/Blob browser.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from include.platform.charts import png_bytes
from include.synthetic.metrics import correlation_matrix
from include.synthetic.schema import TableSchema


def marginals_png(real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = schema.columns
    ncols = 4
    nrows = math.ceil(len(cols) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3 * nrows), squeeze=False)
    for ax, spec in zip(axes.flat, cols, strict=False):
        if spec.is_continuous:
            r = pd.to_numeric(real[spec.name], errors="coerce").dropna()
            s = pd.to_numeric(synthetic[spec.name], errors="coerce").dropna()
            bins = np.histogram_bin_edges(r, bins=30)
            ax.hist(r, bins=bins, alpha=0.5, density=True, label="real")
            ax.hist(s, bins=bins, alpha=0.5, density=True, label="synthetic")
        else:
            levels = [str(c) for c in spec.categories]
            fr = real[spec.name].map(str).value_counts(normalize=True).reindex(levels, fill_value=0)
            fs = synthetic[spec.name].map(str).value_counts(normalize=True).reindex(levels, fill_value=0)
            x = np.arange(len(levels))
            ax.bar(x - 0.2, fr.to_numpy(), 0.4, label="real")
            ax.bar(x + 0.2, fs.to_numpy(), 0.4, label="synthetic")
            ax.set_xticks(x, levels, rotation=45, fontsize=7)
        ax.set_title(spec.name, fontsize=9)
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Real vs synthetic marginals")
    fig.tight_layout()
    return png_bytes(fig, dpi=90, tight=True)


def correlations_png(real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = [c.name for c in schema.columns if c.dtype in ("int", "float")]
    cr, cs = correlation_matrix(real, numeric), correlation_matrix(synthetic, numeric)
    fig, axes = plt.subplots(1, 3, figsize=(18, 5.5))
    for ax, mat, title, cmap, lim in ((axes[0], cr, "real", "coolwarm", 1), (axes[1], cs, "synthetic", "coolwarm", 1),
                                      (axes[2], (cr - cs).abs(), "|real - synthetic|", "Reds", 0.5)):
        im = ax.imshow(mat.to_numpy(), cmap=cmap, vmin=-lim if cmap == "coolwarm" else 0, vmax=lim)
        ax.set_xticks(range(len(numeric)), numeric, rotation=60, fontsize=7)
        ax.set_yticks(range(len(numeric)), numeric, fontsize=7)
        ax.set_title(f"Pearson correlation: {title}")
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return png_bytes(fig, dpi=90, tight=True)


def metrics_png(checks: list[dict[str, Any]], headline: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [[c["name"], _fmt(c["value"]) if c["value"] is not None else ("passed" if c["passed"] else "failed"),
             f"{c['comparator']} {_fmt(c['threshold'])}" if c["threshold"] is not None else "suite passes",
             "pass" if c["passed"] else "FAIL"] for c in checks]
    rows += [[k, _fmt(headline.get(k)), "", "info"] for k in ("column_shapes", "column_pair_trends", "auc_tstr",
                                                              "auc_trtr", "auc_augmented", "holdout_dcr_baseline_protection")]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(rows) + 0.8))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=["metric", "value", "threshold", "result"], loc="center",
                     colWidths=[0.45, 0.18, 0.22, 0.15], cellLoc="left")
    for (r, c), cell in table.get_celld().items():
        if r > 0 and c == 3:
            cell.set_facecolor({"pass": "#d9f2d9", "FAIL": "#f7d4d4"}.get(rows[r - 1][3], "white"))
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.3)
    ax.set_title("Synthetic data gate")
    return png_bytes(fig, dpi=90, tight=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def markdown(day: str, decision: dict[str, Any], evaluation: dict[str, Any], gx: dict[str, Any],
             generator: dict[str, Any]) -> str:
    """The report text; ``decision`` is the gate output, ``evaluation`` from ``evaluation.evaluate``."""
    head = evaluation["headline"]
    verdict = "PUBLISHED" if decision["publish"] else "REJECTED"
    lines = [
        f"# Synthetic customer data — {day}: {verdict}",
        "",
        f"Generator `{generator.get('model_ref')}` ({generator.get('generator')}, seed {generator.get('seed')}, "
        f"{generator.get('epochs')} epochs on {generator.get('device')}, trained in {generator.get('fit_seconds')} s); "
        f"{head['synthetic_rows']} synthetic rows vs {head['real_rows']} real training rows "
        f"(+ {head['holdout_rows']} real hold-out rows never shown to the generator).",
        "",
        "## Gate",
        "",
        "| check | value | threshold | result | reason |",
        "|---|---|---|---|---|",
    ]
    for c in decision["checks"]:
        value = _fmt(c["value"]) if c["value"] is not None else ("passed" if c["passed"] else "failed")
        threshold = f"{c['comparator']} {_fmt(c['threshold'])}" if c["threshold"] is not None else "suite passes"
        lines.append(f"| {c['name']} | {value} | {threshold} | "
                     f"{'pass' if c['passed'] else '**FAIL**'} | {c['reason'].replace('|', '/')} |")
    lines += ["", "![metric table](metrics.png)", "", "## Fidelity (SDMetrics definitions)", "",
              f"Overall quality **{head['overall_quality']:.4f}** = mean(column shapes {head['column_shapes']:.4f}, "
              f"column pair trends {head['column_pair_trends']:.4f}).", "",
              "| column | metric | score |", "|---|---|---|"]
    for d in evaluation["quality"]["column_shape_details"]:
        lines.append(f"| {d['column']} | {d['metric']} | {d['score']:.4f} |")
    worst = sorted(evaluation["quality"]["column_pair_details"], key=lambda p: p["score"])[:5]
    lines += ["", "Weakest column pairs: " + ", ".join(f"{'/'.join(p['columns'])} {p['score']:.3f}" for p in worst),
              "", "![marginals](marginals.png)", "", "![correlations](correlations.png)", "",
              "## Privacy", "",
              f"- DCR baseline protection {head['dcr_baseline_protection']:.4f} (median DCR synthetic "
              f"{head['median_dcr_synthetic']:.4f} vs random {head['median_dcr_random']:.4f}); real hold-out rows score "
              f"{head['holdout_dcr_baseline_protection']:.4f} on the same measure.",
              f"- DCR overfitting protection {head['dcr_overfitting_protection']:.4f} "
              f"({head['share_closer_to_train']:.1%} of synthetic rows closer to training than to hold-out rows).",
              f"- Exact copies of real rows: {head['exact_copy_rate']:.4%}.", "",
              "## Usefulness (TSTR vs TRTR on the real hold-out)", "",
              f"ROC AUC trained on synthetic {_fmt(head['auc_tstr'])}, on real {_fmt(head['auc_trtr'])}, on real + synthetic "
              f"{_fmt(head['auc_augmented'])} (ratio TSTR/TRTR {head['tstr_trtr_ratio']:.4f}).", "",
              "## Great Expectations", "",
              f"Suite `{gx.get('suite_name')}`: {gx.get('statistics', {}).get('successful_expectations')}/"
              f"{gx.get('statistics', {}).get('evaluated_expectations')} expectations passed "
              f"(full result: `gx_result.json`)."]
    lines += [f"- {f}" for f in gx.get("failures", [])]
    return "\n".join(lines) + "\n"
