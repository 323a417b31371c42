"""The canary report: per-step metrics table, latency and error plots, the decision and why.

Written under ``<lake>/reports/canary/<date>/<model>-v<challenger>/`` (one folder per challenger and
day, so a rerun overwrites its own report)::

    windows/step-<n>-try-<k>.json   raw samples of each analysed window (written during the rollout)
    steps.csv                       the per-step table
    latency.png, errors.png         plots (matplotlib, Agg)
    report.md                       the human-readable report
    teardown.json                   what the teardown stopped, and traffic after the decision
"""

from __future__ import annotations

import io
import json
from typing import Any

from include.canary.analysis import Sample
from include.platform import storage
from include.platform.charts import png_bytes, pyplot


def _path(report_uri: str, *parts: str):
    path = storage.path_from_uri(report_uri)
    for part in parts:
        path = path / part
    return path


def save_window(report_uri: str | None, step: int, attempt: int, weight: int, champion: Sample,
                challenger: Sample) -> str | None:
    if not report_uri:
        return None
    path = _path(report_uri, "windows", f"step-{step}-try-{attempt}.json")
    storage.write_json(path, {
        "step": step, "attempt": attempt, "weight": weight,
        **{name: {"n": s.n, "errors": s.errors, "latencies_ms": s.latencies_ms, "p95_ms": s.p95_ms,
                  "labelled": s.labelled, "correct": s.correct}
           for name, s in (("champion", champion), ("challenger", challenger))},
    })
    return str(path)


def load_window(uri: str) -> dict[str, Sample]:
    data = storage.read_json(storage.path_from_uri(uri))
    return {name: Sample(**data[name]) for name in ("champion", "challenger")}


def load_baseline(report_uri: str | None, results: list[dict[str, Any]]) -> Sample | None:
    """The champion of the latest analysed window that had champion traffic (for the 100% step)."""
    for result in reversed(results):
        if result.get("champion", {}).get("n") and result.get("window_uri"):
            return load_window(result["window_uri"])["champion"]
    return None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.2%}"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def _check_value(result: dict[str, Any], name: str) -> Any:
    for c in result.get("checks", []):
        if c["check"] == name:
            return c["value"]
    return None


def steps_table(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per step. A text generator's graded answers are quality-gate verdicts, so its columns say
    ``pass_rate`` (and the test is ``quality_vs_champion_ztest``); a classifier's say ``accuracy``."""
    textgen = any(c["check"] == "quality_vs_champion_ztest" for s in steps for c in s.get("checks", []))
    graded, check = ("pass_rate", "quality_vs_champion_ztest") if textgen else ("accuracy", "accuracy_vs_champion_ztest")
    rows = []
    for s in steps:
        ch, cl = s["champion"], s["challenger"]
        rows.append({
            "step": s["step"], "weight_pct": s["weight"], "attempt": s["attempt"], "status": s["status"],
            "bake_s": s.get("bake_s"), "early_abort": s.get("early_abort", False),
            "champion_n": ch["n"], "champion_error_rate": ch["error_rate"], "champion_p95_ms": ch["p95_ms"],
            "challenger_n": cl["n"], "challenger_error_rate": cl["error_rate"], "challenger_p95_ms": cl["p95_ms"],
            "errors_ztest_p": _check_value(s, "errors_vs_champion_ztest"),
            "latency_mannwhitney_p": _check_value(s, "latency_vs_champion_mannwhitney"),
            f"champion_{graded}": ch.get("accuracy"), f"challenger_{graded}": cl.get("accuracy"),
            "challenger_labelled" if graded == "accuracy" else "challenger_graded": cl.get("labelled"),
            f"{graded}_ztest_p": _check_value(s, check),
            "reasons": "; ".join(s.get("reasons", [])),
        })
    return rows


def _csv(rows: list[dict[str, Any]]) -> str:
    import csv

    buf = io.StringIO()
    fields = list(rows[0]) if rows else ["step"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _plots(steps: list[dict[str, Any]], policy: dict[str, Any]) -> tuple[bytes, bytes]:
    plt = pyplot()
    labels = [f"{s['weight']}%" + (f" (try {s['attempt']})" if s["attempt"] > 1 else "") for s in steps]
    x = list(range(len(steps)))

    fig, ax = plt.subplots(figsize=(7, 4))
    data, positions, colors = [], [], []
    for i, s in enumerate(steps):
        window = load_window(s["window_uri"]) if s.get("window_uri") else {}
        for offset, name, color in ((-0.18, "champion", "#2563eb"), (0.18, "challenger", "#f97316")):
            lat = window.get(name).latencies_ms if window.get(name) else None
            if lat:
                data.append(lat)
                positions.append(i + offset)
                colors.append(color)
    if data:
        parts = ax.boxplot(data, positions=positions, widths=0.3, showfliers=False, patch_artist=True)
        for patch, color in zip(parts["boxes"], colors, strict=True):
            patch.set_facecolor(color)
            patch.set_alpha(0.5)
    ax.plot(x, [s["champion"]["p95_ms"] for s in steps], "o--", color="#2563eb", label="champion p95")
    ax.plot(x, [s["challenger"]["p95_ms"] for s in steps], "s--", color="#f97316", label="challenger p95")
    ax.axhline(policy["max_p95_latency_ms"], color="red", lw=1, label="p95 ceiling")
    ax.set_xticks(x, labels)
    ax.set_xlabel("challenger traffic share")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Latency per step (boxes: window samples)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    latency = png_bytes(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    w = 0.38
    ax.bar([i - w / 2 for i in x], [100 * (s["champion"]["error_rate"] or 0) for s in steps], w,
           label="champion", color="#2563eb")
    ax.bar([i + w / 2 for i in x], [100 * (s["challenger"]["error_rate"] or 0) for s in steps], w,
           label="challenger", color="#f97316")
    ax.axhline(100 * policy["max_error_rate"], color="red", lw=1, label="error-rate ceiling")
    ax.set_xticks(x, labels)
    ax.set_xlabel("challenger traffic share")
    ax.set_ylabel("error rate (%)")
    ax.set_title("Error rate per step")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return latency, png_bytes(fig)


def write_report(report_uri: str, *, model: str, champion_version: str, challenger_version: str,
                 outcome: dict[str, Any] | None, registry_action: str, when: str) -> dict[str, str]:
    """Write steps.csv, the two plots and report.md; works with a partial or missing outcome."""
    outcome = outcome or {}
    steps = outcome.get("steps", [])
    policy = outcome.get("policy") or {}
    written: dict[str, str] = {}
    rows = steps_table(steps)
    storage.write_text(_path(report_uri, "steps.csv"), _csv(rows))
    written["steps_csv"] = str(_path(report_uri, "steps.csv"))
    if steps and policy:
        latency_png, errors_png = _plots(steps, policy)
        storage.write_bytes(_path(report_uri, "latency.png"), latency_png)
        storage.write_bytes(_path(report_uri, "errors.png"), errors_png)
        written |= {"latency_png": str(_path(report_uri, "latency.png")),
                    "errors_png": str(_path(report_uri, "errors.png"))}

    decision = outcome.get("decision", "aborted")
    lines = [
        f"# Canary report: {model} v{challenger_version} vs champion v{champion_version}",
        "",
        f"- When: {when}",
        f"- Backend: {outcome.get('backend', 'unknown')}",
        f"- **Decision: {decision}** (challenger traffic now {outcome.get('final_challenger_weight', 0)}%)",
        f"- Registry: {registry_action}",
    ]
    if outcome.get("reasons"):
        lines.append(f"- Why (step {outcome.get('failed_step')}): " + "; ".join(outcome["reasons"]))
    if not outcome:
        lines.append("- The rollout task did not finish; traffic was sent back to the champion (fail safe).")
    if policy:
        lines += ["", "## Policy", "", "```json", json.dumps(policy, indent=2), "```"]
    lines += ["", "## Steps", ""]
    if rows:
        graded = "pass_rate" if "champion_pass_rate" in rows[0] else "accuracy"
        shown = any(r[f"champion_{graded}"] is not None or r[f"challenger_{graded}"] is not None for r in rows)
        label = graded.replace("_", " ")
        extra = f" champion {label} | challenger {label} | {label} z-test p |" if shown else ""
        lines.append("| step | weight | try | status | champion n | champion err | champion p95 ms | "
                     "challenger n | challenger err | challenger p95 ms | z-test p | Mann-Whitney p |" + extra
                     + " reasons |")
        lines.append("|" + "---|" * (16 if shown else 13))
        for r in rows:
            graded_cells = (f" {_pct(r[f'champion_{graded}'])} | {_pct(r[f'challenger_{graded}'])} | "
                            f"{r[f'{graded}_ztest_p']} |") if shown else ""
            lines.append(
                f"| {r['step']} | {r['weight_pct']}% | {r['attempt']} | {r['status']} | {r['champion_n']} | "
                f"{_pct(r['champion_error_rate'])} | {_ms(r['champion_p95_ms'])} | {r['challenger_n']} | "
                f"{_pct(r['challenger_error_rate'])} | {_ms(r['challenger_p95_ms'])} | {r['errors_ztest_p']} | "
                f"{r['latency_mannwhitney_p']} |{graded_cells} {r['reasons'] or '—'} |")
    else:
        lines.append("No step was analysed.")
    if "latency_png" in written:
        lines += ["", "![latency per step](latency.png)", "", "![error rate per step](errors.png)"]
    lines += ["", "Statistical checks are one-sided (is the challenger worse?): a two-proportion z-test on errors "
              "and Mann-Whitney U on latency, challenger vs champion over the same window; at 100% the champion "
              "of the previous window is the reference. Too few requests is inconclusive and fails safe."]
    storage.write_text(_path(report_uri, "report.md"), "\n".join(lines) + "\n")
    written["report_md"] = str(_path(report_uri, "report.md"))
    return written
