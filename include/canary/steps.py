"""canary_deploy's step functions: one per task, so each task body only resolves its context and calls one.

``plan`` → ``start`` (setup) → the rollout operator → ``record`` → ``report`` → ``stop`` (teardown).
Each takes the typed :class:`~include.canary.config.CanaryConfig` (never the raw Params) and the
plain dicts the earlier steps returned (XComs).
"""

from __future__ import annotations

import logging
from typing import Any

from include.canary.config import CanaryConfig

log = logging.getLogger(__name__)


def plan(cfg: CanaryConfig, context: dict[str, Any]) -> dict[str, Any]:
    """Which version to canary against which champion, how each loads, what traffic to replay.

    An asset-triggered run takes model and version from its ``challenger_registered`` event; the
    challenger's serving kind is the event's (``serving_kind``, else a ``kind`` the serving table
    knows), else the one its artifact declares (the champion's always is).
    """
    from include.canary import candidates, replay, serving
    from include.platform import registry, storage
    from include.platform.runtime import run_date

    event = candidates.named_by_event(context.get("triggering_asset_events"))
    name = event["model"] if event else cfg.model_name
    version = str(event["version"]) if event and event.get("version") is not None else None
    pair = candidates.resolve_pair(name, bootstrap_demo=cfg.bootstrap_demo, version=version)
    hint = next((event[k] for k in ("serving_kind", "kind") if event and event.get(k) in serving.LOADERS), None)
    kinds = {role: serving.detect_kind(registry.download(f"{name}/{pair[role]}")[1])
             for role in ("champion", "challenger")} | ({"challenger": hint} if hint else {})
    day = run_date(context)
    report = storage.lake_path("reports", "canary", day.isoformat(), f"{name}-v{pair['challenger']}")
    requests_uri = replay.record_for(kinds["challenger"], name, pair["challenger"], day,
                                     cfg.recorded_requests) if cfg.embedded else None
    log.info("canary %s/%s (%s) against champion %s (%s)%s", name, pair["challenger"], kinds["challenger"],
             pair["champion"], kinds["champion"], f"; named by event {event}" if event else "")
    # A text generator's graded answers are quality-gate verdicts, not labels: the check says so.
    graded_as = "quality" if kinds["challenger"] == "textgen" else "accuracy"
    return pair | {"kinds": kinds, "report_uri": str(report), "requests_uri": requests_uri, "day": day.isoformat(),
                   "policy": cfg.policy().to_dict() | {"graded_as": graded_as}, "event": event}


def start(planned: dict[str, Any], cfg: CanaryConfig, run_id: str) -> dict[str, Any]:
    """Setup: start the embedded stack (stopping any an earlier try left) or record the cloud endpoint."""
    from include.canary import lifecycle

    return lifecycle.start(planned, cfg, run_id)


def record(planned: dict[str, Any], outcome: dict[str, Any] | None, run_id: str,
           context: dict[str, Any]) -> dict[str, Any]:
    """Promote or roll back through the shared lifecycle; a crashed rollout leaves the challenger undecided."""
    from include.canary.outcome import record_outcome

    return record_outcome(planned, outcome, run_id, context)


def report(planned: dict[str, Any], recorded: dict[str, Any] | None, outcome: dict[str, Any] | None) -> dict[str, Any]:
    """Per-step table, plots and the decision under ``reports/canary/<day>/<model>-v<n>/``."""
    from include.canary.report import write_report

    return write_report(planned["report_uri"], model=planned["model"], champion_version=planned["champion"],
                        challenger_version=planned["challenger"], outcome=outcome,
                        registry_action=(recorded or {}).get("action", "not recorded"), when=planned["day"])


def stop(stack: dict[str, Any], planned: dict[str, Any], outcome: dict[str, Any] | None,
         context: dict[str, Any]) -> dict[str, Any]:
    """Teardown from the setup's record, then report the serving compute (``compute_spent``)."""
    from include.canary import lifecycle
    from include.platform import assets, compute

    stopped = lifecycle.stop(stack, planned["report_uri"], outcome)
    compute.emit(context, assets.COMPUTE_SPENT, backend="embedded" if stack.get("mode") == "local" else "cloud",
                 model=planned["model"], challenger=planned["challenger"])
    return stopped
