"""Canary router figures, measured side by side in one run on this machine.

1. Router overhead: the same requests to the champion model server directly and through the
   weighted router (challenger weight 0), interleaved one by one over one keep-alive connection
   each, so machine load hits both equally. Reports p50/p99 of each and the added latency.
2. Blast radius of a faulty challenger at the DEFAULT policy (10% first step, 60 s bake, 100
   requests minimum, 5% error ceiling): a real stack with a challenger failing 20% of requests,
   load replayed at the DAG's default 50 rps, the real bake trigger and analysis; counts how many
   requests the challenger served (and how many errors users saw) before traffic went back to the
   champion.

Writes bench/results/canary_router.json. ``--bake-seconds`` shortens part 2 for a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from include.canary import model  # noqa: E402
from include.canary import stack as local_stack  # noqa: E402
from include.canary.analysis import evaluate_step  # noqa: E402
from include.canary.backends.local import LocalRouterBackend  # noqa: E402
from include.canary.policy import CanaryPolicy  # noqa: E402
from include.demo.feedback import labeled_examples  # noqa: E402


def _post(conn: http.client.HTTPConnection, body: bytes) -> float:
    start = time.perf_counter()
    conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    return (time.perf_counter() - start) * 1000


def router_overhead(root: Path, n: int) -> dict:
    run_dir = root / "overhead"
    run_dir.mkdir()
    try:
        champion = local_stack.start_process("champion", "include.canary.servers",
                                       ["--model-dir", str(root / "champion"), "--role", "champion", "--ttl", "600"],
                                       run_dir)
        router = local_stack.start_process("router", "include.canary.router",
                                     ["--champion", champion["url"], "--challenger", champion["url"], "--weight", "0",
                                      "--ttl", "600"], run_dir)
        bodies = [json.dumps({"text": t}).encode() for t, _ in labeled_examples(200, seed=5)]
        direct = http.client.HTTPConnection("127.0.0.1", champion["port"], timeout=10)
        routed = http.client.HTTPConnection("127.0.0.1", router["port"], timeout=10)
        for body in bodies[:50]:  # warm-up: connections, caches
            _post(direct, body)
            _post(routed, body)
        d, r = [], []
        for i in range(n):
            body = bodies[i % len(bodies)]
            if i % 2:  # alternate who goes first, so neither always follows the other
                d.append(_post(direct, body))
                r.append(_post(routed, body))
            else:
                r.append(_post(routed, body))
                d.append(_post(direct, body))
    finally:
        local_stack.stop_stack(run_dir)
    d_arr, r_arr = np.array(d), np.array(r)
    out = {"requests_each": n,
           "direct_p50_ms": float(np.percentile(d_arr, 50)), "direct_p99_ms": float(np.percentile(d_arr, 99)),
           "router_p50_ms": float(np.percentile(r_arr, 50)), "router_p99_ms": float(np.percentile(r_arr, 99))}
    out["added_p50_ms"] = out["router_p50_ms"] - out["direct_p50_ms"]
    out["added_p99_ms"] = out["router_p99_ms"] - out["direct_p99_ms"]
    out["paired_added_p50_ms"] = float(np.percentile(r_arr - d_arr, 50))
    return out


def faulty_challenger_blast_radius(root: Path, bake_seconds: float, rate: float, error_rate: float,
                                   early_abort: bool) -> dict:
    from genai_airflow.canary.triggers import CanaryBakeTrigger

    policy = CanaryPolicy(bake_seconds=bake_seconds, early_abort=early_abort)  # else: the DAG's defaults
    run_dir = root / f"blast-{early_abort}"
    stack = local_stack.start_stack(run_dir, champion_dir=str(root / "champion"), challenger_dir=str(root / "challenger"),
                              champion_ref="bench/1", challenger_ref="bench/2",
                              requests_file=str(root / "requests.jsonl"), rate=rate, concurrency=4, ttl=900,
                              challenger_error_rate=error_rate)
    try:
        backend = LocalRouterBackend(stack["router_url"])
        weight = policy.steps[0]
        t0 = time.monotonic()
        start = backend.set_challenger_weight(weight)
        trigger = CanaryBakeTrigger(weight=weight, bake_seconds=policy.bake_seconds,
                                    max_step_seconds=policy.max_step_seconds, min_requests=policy.min_requests,
                                    max_error_rate=policy.max_error_rate if early_abort else None,
                                    alpha=policy.alpha if early_abort else None, **backend.wait_spec(start))

        async def bake():
            async for event in trigger.run():
                return event.payload

        asyncio.run(bake())
        champion, challenger, _ = backend.window(start)
        verdict = evaluate_step(policy, weight, champion, challenger)
        rollback_at = backend.set_challenger_weight(0) if verdict["status"] != "pass" else None
        seconds = time.monotonic() - t0
        served = backend.counts(start)  # everything since the challenger got traffic
        time.sleep(2)
        after = backend.counts(rollback_at) if rollback_at is not None else None
    finally:
        local_stack.stop_stack(run_dir)
    return {"policy": policy.to_dict(), "load_rps": rate, "challenger_error_rate": error_rate,
            "decision": "rollback" if rollback_at is not None else "continue", "failed_checks": verdict["reasons"],
            "seconds_to_rollback": round(seconds, 2),
            "challenger_requests_before_rollback": served["challenger"]["n"],
            "challenger_errors_before_rollback": served["challenger"]["errors"],
            "share_of_all_requests": round(served["challenger"]["n"] / max(1, served["challenger"]["n"]
                                                                              + served["champion"]["n"]), 4),
            "challenger_requests_in_2s_after_rollback": after["challenger"]["n"] if after else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="requests per path for the overhead part")
    parser.add_argument("--bake-seconds", type=float, default=CanaryPolicy().bake_seconds)
    parser.add_argument("--rate", type=float, default=50.0, help="load (the DAG's default load_rps)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model.train(labeled_examples(300, seed=1), epochs=40).save(root / "champion")
        model.train(labeled_examples(450, seed=2), epochs=40).save(root / "challenger")
        (root / "requests.jsonl").write_text(
            "\n".join(json.dumps({"text": t}) for t, _ in labeled_examples(500, seed=3)) + "\n")
        overhead = router_overhead(root, args.requests)
        print(f"router overhead: direct p50 {overhead['direct_p50_ms']:.2f} ms / p99 {overhead['direct_p99_ms']:.2f} ms;"
              f" via router p50 {overhead['router_p50_ms']:.2f} ms / p99 {overhead['router_p99_ms']:.2f} ms;"
              f" added p50 {overhead['added_p50_ms']:.2f} ms, p99 {overhead['added_p99_ms']:.2f} ms")
        blast = {}
        for early in (True, False):
            b = blast["early_abort" if early else "full_bake"] = faulty_challenger_blast_radius(
                root, args.bake_seconds, args.rate, 0.2, early)
            print(f"faulty challenger (20% errors), default policy, {'early abort' if early else 'full bake'}: "
                  f"{b['decision']} after {b['seconds_to_rollback']} s; it served "
                  f"{b['challenger_requests_before_rollback']} requests ({b['challenger_errors_before_rollback']} "
                  f"errors, {b['share_of_all_requests']:.1%} of traffic); "
                  f"{b['challenger_requests_in_2s_after_rollback']} challenger requests after the rollback")
    result = {"machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                          "load_avg_1m": __import__("os").getloadavg()[0]},
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "router_overhead": overhead, "faulty_challenger": blast}
    out = ROOT / "bench" / "results" / "canary_router.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
