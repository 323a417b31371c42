"""The canary's setup and teardown, as plain functions the DAG's two tasks call.

Setup (``start``) records everything a teardown needs in its return value (the XCom): the host, each
process's pid, process group, start time, port and URL — and, for a cloud backend, the connection
and target whose traffic it shifts. Teardown (``stop``) works from that record only, because it is
the one record that survives a worker being killed or replaced:

* embedded stack: stop the recorded processes (one-host rule: a stack recorded on another host
  fails loudly, see :func:`include.canary.stack.check_same_host`), check no process or port is left;
* cloud backend: unless the rollout *promoted* the challenger, send 100% of traffic back to the
  champion — also when the rollout task crashed or its worker died before its own fail-safe ran —
  and record the weights the endpoint reports afterwards.

Either way ``teardown.json`` lands in the run's report folder, including when the teardown fails.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from include.platform.errors import PermanentError

if TYPE_CHECKING:
    from include.canary.config import CanaryConfig

log = logging.getLogger(__name__)

DEFAULT_BIND_HOST = "127.0.0.1"


def run_dir_for(run_id: str):
    """``<data_dir>/canary/<run id>``: the same folder for every attempt of a run (so a retry finds
    what an earlier attempt started)."""
    from include.platform.paths import safe_local_join
    from include.platform.settings import data_dir

    return safe_local_join(data_dir() / "canary", re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._") or "run")


def start(planned: dict[str, Any], cfg: CanaryConfig, run_id: str) -> dict[str, Any]:
    """Setup: the embedded stack (servers, router, load) or, with a connection, the cloud endpoint's record."""
    if not cfg.embedded:
        from include.canary.backends import backend_for

        backend = backend_for(cfg.backend_conn_id, dict(cfg.target))
        return {"mode": backend.kind, "conn_id": cfg.backend_conn_id, "target": dict(cfg.target),
                "weights_before": backend.current_weights()}

    from include.canary import stack
    from include.platform import registry, storage

    model = planned["model"]
    _, champion_dir = registry.download(f"{model}/{planned['champion']}")
    _, challenger_dir = registry.download(f"{model}/{planned['challenger']}")
    run_dir = run_dir_for(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    requests_file = run_dir / "requests.jsonl"
    requests_file.write_text(storage.read_text(storage.path_from_uri(planned["requests_uri"])))
    policy = planned["policy"]
    # TTL: the longest the rollout may take, plus slack; a stack outliving it stops itself.
    ttl = policy["max_step_seconds"] * len(policy["steps"]) * (policy["failure_limit"] + 1) + 600
    return stack.start_stack(
        run_dir, champion_dir=str(champion_dir), challenger_dir=str(challenger_dir),
        champion_ref=f"{model}/{planned['champion']}", challenger_ref=f"{model}/{planned['challenger']}",
        champion_kind=planned["kinds"]["champion"], challenger_kind=planned["kinds"]["challenger"],
        requests_file=str(requests_file), rate=cfg.load_rps, concurrency=cfg.load_concurrency,
        ttl=ttl, challenger_error_rate=cfg.challenger_error_rate,
        server_options=cfg.textgen_options(str(champion_dir)) if "textgen" in planned["kinds"].values() else None,
        challenger_added_latency_ms=cfg.challenger_added_latency_ms, bind_host=cfg.bind_host or DEFAULT_BIND_HOST,
    ) | {"mode": "local"}


def stop(stack: dict[str, Any], report_uri: str, outcome: dict[str, Any] | None) -> dict[str, Any]:
    """Teardown: stop the embedded stack or reset cloud traffic; write ``teardown.json``; fail loudly."""
    from include.platform import storage

    summary_path = storage.path_from_uri(report_uri) / "teardown.json"
    try:
        if stack.get("mode") == "local":
            summary = _stop_local(stack, outcome)
        else:
            summary = _reset_cloud(stack, outcome)
    except PermanentError as exc:
        storage.write_json(summary_path, {"mode": stack.get("mode"), "error": str(exc)})
        raise
    storage.write_json(summary_path, summary)
    if summary.get("problem"):
        raise RuntimeError(summary["problem"])
    return summary


def _stop_local(stack: dict[str, Any], outcome: dict[str, Any] | None) -> dict[str, Any]:
    from include.canary import stack as processes
    from include.canary.backends.local import LocalRouterBackend

    processes.check_same_host(stack)  # before anything else: another host's router URL is not ours either
    after = None
    if outcome and outcome.get("decision_marker") is not None:
        try:
            after = LocalRouterBackend(stack["router_url"]).counts(outcome["decision_marker"])
        except OSError as exc:
            after = {"error": str(exc)}
    stopped = processes.stop_recorded(stack)
    summary: dict[str, Any] = {"mode": "local", "host": stack.get("host"), "stopped": stopped,
                               "after_decision": after}
    leftovers = [s for s in stopped if s["alive"] or s["port_in_use"]]
    if leftovers:
        summary["problem"] = f"canary stack processes still alive or ports still bound: {leftovers}"
    return summary


def _reset_cloud(stack: dict[str, Any], outcome: dict[str, Any] | None) -> dict[str, Any]:
    """All traffic to the champion unless the challenger was promoted: the rollout's own fail-safe
    does not run when its worker dies, so the teardown is the guarantee."""
    from include.canary.backends import backend_for

    backend = backend_for(stack.get("conn_id"), dict(stack.get("target") or {}))
    decision = (outcome or {}).get("decision")
    if decision == "promote":
        action = "kept: the challenger was promoted and serves 100%"
    else:
        backend.set_challenger_weight(0)
        action = ("reset: 100% to the champion (rolled back)" if decision else
                  "reset: 100% to the champion (the rollout ended without a decision)")
    weights = backend.current_weights()
    log.info("teardown of %s endpoint: %s; weights now %s", backend.kind, action, weights)
    summary: dict[str, Any] = {"mode": backend.kind, "decision": decision or "none", "action": action,
                               "weights_before": stack.get("weights_before"), "weights_after": weights}
    if decision != "promote" and weights.get("challenger"):
        summary["problem"] = f"{backend.kind} endpoint still sends {weights['challenger']}% to the challenger"
    return summary
