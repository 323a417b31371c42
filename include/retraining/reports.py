"""The adaptive_retraining reports under ``reports/adaptive_retraining/<day>/`` (search, gate, analytics).

The drift report has its own module (:mod:`include.drift.report`); these are the retraining steps'
own: what the search tried, what the gate decided, and how the champion scores the batch. Every
file is keyed by the day (and the run id where one day has several runs), so reruns overwrite.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from include.platform import runs, storage
from include.platform.charts import png_bytes, pyplot
from include.tuning.search import SearchResult

DAG_ID = "adaptive_retraining"


def report_dir(day: date, *parts: str) -> storage.ObjectStoragePath:
    return runs.day_path("reports", DAG_ID, day, *parts)


def trials_path(day: date, run_id: str) -> storage.ObjectStoragePath:
    """Where a run's search points live (a retry resumes from them; a follow-up round copies them)."""
    return report_dir(day, "search", f"trials-{runs.slug(run_id, 'run')}.json")


def write_search_report(day: date, result: SearchResult, run_id: str) -> str:
    """Convergence plot + table of every evaluated point; the Markdown's URI."""
    plt = pyplot()
    key = runs.slug(run_id, "run")
    values = [t["value"] for t in result.trials]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(range(1, len(values) + 1), values, "o", alpha=0.5, label="call")
    ax.plot(range(1, len(values) + 1), np.minimum.accumulate(values), "-", label="best so far")
    ax.set_xlabel("objective call")
    ax.set_ylabel("validation log loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    dest = report_dir(day, "search")
    storage.write_bytes(dest / f"convergence-{key}.png", png_bytes(fig, dpi=80))
    table = pd.DataFrame(result.trials)
    lines = [f"# Hyper-parameter search {day.isoformat()} ({run_id})", "",
             f"- {result.n_evaluations} points ({result.n_new_evaluations} new in attempt {result.attempts}, "
             f"{result.resumed_from} resumed); stopped by {result.stopped_by}; {result.elapsed_s:.1f} s",
             f"- Best validation log loss {result.best_value:.5f} at {result.best_params}", "",
             table.to_markdown(index=False, floatfmt=".5g") if _has_tabulate() else table.to_string(index=False),
             "", f"![convergence](convergence-{key}.png)", ""]
    return str(storage.write_text(dest / f"search-{key}.md", "\n".join(lines)))


def write_gate_report(day: date, run_id: str, result: dict[str, Any]) -> str:
    """The gate's full decision as JSON (``gate/gate-<run>.json``)."""
    return str(storage.write_json(report_dir(day, "gate", f"gate-{runs.slug(run_id, 'run')}.json"), result))


def write_analytics_report(day: date, version: str, ref: str, scores: pd.DataFrame, by_plan: pd.DataFrame,
                           metrics: dict[str, float]) -> str:
    """Churn by plan (chart + table), the highest-risk customers, batch metrics; the Markdown's URI."""
    plt = pyplot()
    dest = report_dir(day, "analytics")
    fig, ax = plt.subplots(figsize=(5, 3))
    x = np.arange(len(by_plan))
    ax.bar(x - 0.2, by_plan["predicted"], 0.4, label="predicted")
    ax.bar(x + 0.2, by_plan["actual"], 0.4, label="actual")
    ax.set_xticks(x, by_plan["plan"])
    ax.set_ylabel("churn rate")
    ax.set_title(f"Churn by plan, {day.isoformat()} (model v{version})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    storage.write_bytes(dest / "churn_by_plan.png", png_bytes(fig, dpi=80))
    top = scores.nlargest(10, "churn_risk")[["customer_id", "plan", "region", "churn_risk"]]
    lines = [f"# Churn analytics {day.isoformat()}", "",
             f"- Scored {len(scores)} customers with {ref} (champion).",
             f"- Predicted churn rate {metrics['predicted_churn_rate']:.1%}, actual {metrics['actual_churn_rate']:.1%}; "
             f"ROC AUC {metrics['roc_auc']:.3f}, log loss {metrics['log_loss']:.3f} on this batch's labels "
             "(optimistic when the champion was trained on part of this batch; the gate report has the "
             "hold-out figures).", "",
             "## By plan", "", by_plan.to_string(index=False), "",
             "## Highest risk", "", top.to_string(index=False), "", "![churn by plan](churn_by_plan.png)", ""]
    return str(storage.write_text(dest / "analytics.md", "\n".join(lines)))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
