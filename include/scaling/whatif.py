"""What-if: replay a recorded metrics trace through the policy before trusting it with real capacity.

None of the anchors (HPA, KEDA, Ray) offers a dry run over history. Here a recorded trace
(``raw/metrics/trace-<date>.parquet``, one row per 15 minutes) is replayed twice:

* **baseline**: the replica count recorded in the trace (what actually ran), and
* **policy**: ``policy.decide`` fed with what it would have observed, step by step, its own
  decisions feeding back (stabilisation history, current replicas, backlog).

Queue model (simple on purpose, stated so nobody over-reads it): the trace's ``queue_depth`` is the
work that arrives in each 15-minute step; each replica completes ``throughput_per_replica`` tasks
per step; what is not done waits (backlog). GPU utilisation is assumed to spread evenly over
replicas (``util × recorded / simulated``). Cost = replicas × $/replica-hour × 0.25 h.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.platform.charts import png_bytes, pyplot
from include.scaling.policy import Observation, Recommendation, decide

if TYPE_CHECKING:
    from include.scaling.config import ScalingPolicyConfig, WhatIfConfig

log = logging.getLogger(__name__)

STEP_HOURS = 0.25


def _simulate(trace: pd.DataFrame, throughput: float, replicas_for_step: Any) -> pd.DataFrame:
    rows = []
    backlog = 0.0
    for i, rec in enumerate(trace.itertuples(index=False)):
        waiting = backlog + float(rec.queue_depth)
        replicas, extra = replicas_for_step(i, rec, waiting)
        done = min(waiting, replicas * throughput)
        backlog = waiting - done
        wait_min = (backlog / (replicas * throughput) * 15.0) if replicas and throughput else (math.inf if backlog else 0.0)
        rows.append({"timestamp": rec.timestamp, "arrivals": float(rec.queue_depth), "waiting": waiting,
                     "replicas": int(replicas), "backlog": backlog, "queue_wait_min": wait_min, **extra})
    return pd.DataFrame(rows)


def replay(trace: pd.DataFrame, cfg: ScalingPolicyConfig, throughput_per_replica: float = 16.0) -> pd.DataFrame:
    """One row per trace step with baseline_* and policy_* columns (replicas, backlog, wait, cost)."""
    required = {"timestamp", "queue_depth", "gpu_util_percent", "replicas"}
    missing = required - set(trace.columns)
    if missing:
        raise ValueError(f"metrics trace lacks columns {sorted(missing)}")
    trace = trace.sort_values("timestamp").reset_index(drop=True)

    baseline = _simulate(trace, throughput_per_replica, lambda i, rec, waiting: (int(rec.replicas), {}))

    history: list[Recommendation] = []
    state = {"replicas": max(int(trace["replicas"].iloc[0]), cfg.min_replicas)}

    def policy_step(i: int, rec: Any, waiting: float) -> tuple[int, dict[str, Any]]:
        current = state["replicas"]
        gpu = float(rec.gpu_util_percent) * int(rec.replicas) / max(current, 1)
        obs = Observation(
            timestamp=rec.timestamp.to_pydatetime(),
            current_replicas=current,
            queue_depth=waiting,
            pending_objects=float(getattr(rec, "pending_objects", 0) or 0),
            gpu_utilization=min(gpu, 100.0),
            cpu_percent=float(getattr(rec, "cpu_percent", 0) or 0),
            memory_percent=float(getattr(rec, "memory_percent", 0) or 0),
        )
        decision = decide(obs, cfg, history)
        history.append(Recommendation(obs.timestamp, decision.recommendation))
        state["replicas"] = decision.desired_replicas
        return decision.desired_replicas, {"recommendation": decision.recommendation,
                                           "direction": decision.direction, "driver": decision.driver,
                                           "limited_by": ",".join(decision.limited_by)}

    policy = _simulate(trace, throughput_per_replica, policy_step)
    out = pd.DataFrame({"timestamp": trace["timestamp"], "arrivals": trace["queue_depth"].astype(float),
                        "gpu_util_percent": trace["gpu_util_percent"].astype(float)})
    for prefix, frame in (("baseline", baseline), ("policy", policy)):
        out[f"{prefix}_replicas"] = frame["replicas"]
        out[f"{prefix}_backlog"] = frame["backlog"]
        out[f"{prefix}_queue_wait_min"] = frame["queue_wait_min"]
        out[f"{prefix}_cost"] = frame["replicas"] * cfg.cost_per_replica_hour * STEP_HOURS
    for col in ("recommendation", "direction", "driver", "limited_by"):
        out[col] = policy[col]
    return out


def summarize(result: pd.DataFrame) -> dict[str, Any]:
    def side(prefix: str) -> dict[str, float]:
        return {
            "replica_hours": float(result[f"{prefix}_replicas"].sum() * STEP_HOURS),
            "cost": round(float(result[f"{prefix}_cost"].sum()), 2),
            "peak_backlog": float(result[f"{prefix}_backlog"].max()),
            "mean_queue_wait_min": round(float(result[f"{prefix}_queue_wait_min"].replace(math.inf, float("nan")).mean()), 2),
            "p95_queue_wait_min": round(float(result[f"{prefix}_queue_wait_min"].quantile(0.95)), 2),
            "max_replicas": int(result[f"{prefix}_replicas"].max()),
        }

    changes = int((result["policy_replicas"].diff().fillna(0) != 0).sum())
    return {"steps": int(len(result)), "baseline": side("baseline"), "policy": side("policy"),
            "scale_events": changes,
            "limited_by_counts": result["limited_by"].str.split(",").explode().replace("", pd.NA).dropna()
            .value_counts().to_dict()}


def chart(result: pd.DataFrame, title: str) -> bytes:
    """Three panels sharing the time axis: replicas, queue backlog, cumulative cost."""
    plt = pyplot()

    fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    ts = pd.to_datetime(result["timestamp"])
    axes[0].step(ts, result["baseline_replicas"], where="post", label="recorded (baseline)", color="grey")
    axes[0].step(ts, result["policy_replicas"], where="post", label="policy", color="tab:blue")
    axes[0].set_ylabel("replicas")
    axes[0].legend(loc="upper left")
    axes[1].plot(ts, result["arrivals"], label="arriving work / 15 min", color="tab:orange", alpha=0.6)
    axes[1].plot(ts, result["baseline_backlog"], label="backlog, baseline", color="grey")
    axes[1].plot(ts, result["policy_backlog"], label="backlog, policy", color="tab:blue")
    axes[1].set_ylabel("tasks")
    axes[1].legend(loc="upper left")
    axes[2].plot(ts, result["baseline_cost"].cumsum(), label="baseline", color="grey")
    axes[2].plot(ts, result["policy_cost"].cumsum(), label="policy", color="tab:blue")
    axes[2].set_ylabel("cumulative $")
    axes[2].legend(loc="upper left")
    fig.suptitle(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return png_bytes(fig, dpi=90)


def markdown(summary: dict[str, Any], cfg: ScalingPolicyConfig, trace_uri: str, png_name: str,
             throughput_per_replica: float) -> str:
    b, p = summary["baseline"], summary["policy"]
    rows = [("replica-hours", "replica_hours"), ("cost ($)", "cost"), ("peak backlog (tasks)", "peak_backlog"),
            ("mean queue wait (min)", "mean_queue_wait_min"), ("p95 queue wait (min)", "p95_queue_wait_min"),
            ("max replicas", "max_replicas")]
    table = "\n".join(f"| {label} | {b[key]:g} | {p[key]:g} |" for label, key in rows)
    limits = ", ".join(f"{k}: {v}" for k, v in summary["limited_by_counts"].items()) or "none"
    cfg_lines = "\n".join(f"| `{k}` | {v} |" for k, v in cfg.policy_rows())
    return f"""# Autoscaling what-if

Trace: `{trace_uri}` ({summary['steps']} steps of 15 minutes). Each replica completes
{throughput_per_replica:g} tasks per step; unfinished work waits. Baseline = the replica count recorded in
the trace; policy = `include/scaling/policy.decide` replayed step by step.

![replicas, queue and cost]({png_name})

| | baseline | policy |
|---|---|---|
{table}

Scale events: {summary['scale_events']}. Steps where a limit shaped the decision: {limits}.

## Policy configuration

| setting | value |
|---|---|
{cfg_lines}
"""


def run_report(trace: pd.DataFrame, cfg: ScalingPolicyConfig, out_dir: Any, trace_uri: str,
               throughput_per_replica: float = 16.0) -> dict[str, Any]:
    """Replay, chart and write ``what-if.png``, ``what-if.md``, ``what-if.csv`` under ``out_dir``."""
    from include.platform import storage

    result = replay(trace, cfg, throughput_per_replica)
    summary = summarize(result)
    storage.write_bytes(out_dir / "what-if.png",
                        chart(result, f"What-if: policy vs recorded replicas ({summary['steps']} steps)"))
    storage.write_text(out_dir / "what-if.md", markdown(summary, cfg, trace_uri, "what-if.png", throughput_per_replica))
    storage.write_text(out_dir / "what-if.csv", result.to_csv(index=False))
    storage.write_json(out_dir / "summary.json", summary)
    log.info("What-if over %d steps: baseline $%.2f / peak backlog %.0f, policy $%.2f / peak backlog %.0f",
             summary["steps"], summary["baseline"]["cost"], summary["baseline"]["peak_backlog"],
             summary["policy"]["cost"], summary["policy"]["peak_backlog"])
    return {"summary": summary, "report": str(out_dir / "what-if.md"), "chart": str(out_dir / "what-if.png")}



def trace_path(day: date) -> Any:
    """Where the metrics trace of ``day`` lies (seed_demo_data and a metrics exporter write it)."""
    from include.platform import storage

    return storage.lake_path("raw", "metrics", f"trace-{day.isoformat()}.parquet")


def replay_day(cfg: WhatIfConfig, run_day: date) -> dict[str, Any]:
    """``autoscaling_whatif_replay``'s step: replay the day's trace and write the report.

    Skipped (not failed) when the day has no trace, or already has a report and ``overwrite`` is off:
    both are normal at 23:50 on a deployment that records no traces or was re-run by hand.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from include.platform import storage

    day = date.fromisoformat(cfg.run_date) if cfg.run_date else run_day
    path = trace_path(day)
    out_dir = storage.lake_path("reports", "scaling", day.isoformat())
    if not path.exists():
        raise AirflowSkipException(f"no metrics trace at {path} (seed_demo_data writes one)")
    if not cfg.overwrite and (out_dir / "what-if.md").exists():
        raise AirflowSkipException(f"what-if report for {day} already exists (overwrite=true to redo)")
    return {"day": day.isoformat(), **run_report(storage.read_parquet(path), cfg, out_dir, str(path),
                                                 cfg.throughput_per_replica)}
