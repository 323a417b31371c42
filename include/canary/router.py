"""The weighted router in front of champion and challenger: the embedded stand-in for a load balancer.

``POST /predict`` goes to the challenger with probability ``weight``% and to the champion otherwise
(the ELB ``ForwardConfig`` / SageMaker variant-weight semantics). The router times every upstream
call and keeps a sequence-numbered record per request, so the analysis can read *exactly* the
requests of one bake window for both models (same window, same load: a fair comparison).

**Labelled requests.** A replayed request may carry its true label in the ``X-Canary-Label`` header
(the load generator sets it from the recorded line's ``label``); the router compares it with the
label the model answered and records whether it was right, so each window also yields both
models' accuracy on the same traffic. The header is not forwarded: the model never sees the answer.

Admin API (the POSTs answer local clients only, 403 otherwise; bad input answers 400 JSON):
    GET  /admin/counts?since=SEQ    per-model request and error counts since SEQ (cheap; the trigger polls it)
    GET  /admin/metrics?since=SEQ   the raw records since SEQ: [seq, unix_time, model, ok, latency_ms, correct]
                                    (correct: true/false for a labelled request, null otherwise)
    POST /admin/weights {"challenger": PCT}   shift traffic (PCT an integer 0..100); returns the sequence
                                    number it took effect at
    POST /admin/shutdown            a clean stop (every canary process has it: include/canary/httpbase.py)
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import random
import threading
import time
from collections import deque
from urllib.parse import urlparse

from include.canary.httpbase import (
    BadRequest,
    JsonHandler,
    Server,
    add_limit_args,
    limits_from_args,
    serve,
)
from include.canary.serving import is_correct

log = logging.getLogger("canary.router")

MODELS = ("champion", "challenger")
#: The request header carrying a replayed request's true label (never forwarded to the model).
LABEL_HEADER = "X-Canary-Label"


class Ledger:
    """Thread-safe request records and the current weight. Bounded: old records fall off."""

    def __init__(self, weight: int, seed: int, maxlen: int = 500_000) -> None:
        self.weight = weight
        self.records: deque[tuple[int, float, str, bool, float, bool | None]] = deque(maxlen=maxlen)
        self.seq = 0
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def choose(self) -> tuple[str, int]:
        """Pick the model and number the request *when it is routed*: a request routed before a
        weight change never lands in the window after it, however long it takes to complete."""
        with self._lock:
            self.seq += 1
            return ("challenger" if self._rng.random() * 100 < self.weight else "champion"), self.seq

    def record(self, seq: int, model: str, ok: bool, latency_ms: float, correct: bool | None = None) -> None:
        with self._lock:
            self.records.append((seq, time.time(), model, ok, round(latency_ms, 3), correct))

    def add(self, model: str, ok: bool, latency_ms: float, correct: bool | None = None) -> None:
        """Route-and-record in one go (tests and tools that bypass HTTP)."""
        _, seq = self.choose()
        self.record(seq, model, ok, latency_ms, correct)

    def set_weight(self, weight: int) -> int:
        with self._lock:
            self.weight = weight
            return self.seq

    def since(self, seq: int) -> list[tuple[int, float, str, bool, float, bool | None]]:
        with self._lock:
            return [r for r in self.records if r[0] > seq]

    def counts(self, seq: int) -> dict:
        out = {m: {"n": 0, "errors": 0} for m in MODELS}
        for _, _, model, ok, *_ in self.since(seq):
            out[model]["n"] += 1
            out[model]["errors"] += 0 if ok else 1
        with self._lock:
            return {"next": self.seq, "weight": self.weight, **out}


def parse_weight(body: dict) -> int:
    """The challenger share from ``{"challenger": PCT}``: an integer 0..100 (not a bool, not 12.5)."""
    weight = body.get("challenger")
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
        raise BadRequest(f"'challenger' must be an integer 0..100, got {json.dumps(weight)[:40]}")
    return weight


def make_handler(ledger: Ledger, upstreams: dict[str, tuple[str, int]], timeout: float) -> type[JsonHandler]:
    local = threading.local()  # one keep-alive connection per (handler thread, upstream)

    def forward(model: str, body: bytes) -> tuple[int, bytes]:
        conns = local.__dict__.setdefault("conns", {})
        for attempt in (1, 2):  # a kept-alive socket may have been closed by the server: retry once
            conn = conns.get(model)
            if conn is None:
                conn = conns[model] = http.client.HTTPConnection(*upstreams[model], timeout=timeout)
            try:
                conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                conns.pop(model, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    class Handler(JsonHandler):
        def handle_get(self) -> None:
            path, query = self.query()
            if path == "/health":
                self.send_json(200, {"status": "ok", "weight": ledger.weight})
            elif path == "/admin/counts":
                self.send_json(200, ledger.counts(self.query_int(query, "since")))
            elif path == "/admin/metrics":
                since = self.query_int(query, "since")
                records = ledger.since(since)
                self.send_json(200, {"next": max((r[0] for r in records), default=since),
                                     "weight": ledger.weight, "records": records})
            else:
                self.send_json(404, {"error": f"no route {path}"})

        def handle_post(self) -> None:
            if self.path == "/predict":
                self.predict(self.read_body())
            elif self.path == "/admin/weights":
                weight = parse_weight(self.read_json_object())
                if self.local_only():
                    seq = ledger.set_weight(weight)
                    log.info("challenger weight -> %s%% at seq %s", weight, seq)
                    self.send_json(200, {"weight": weight, "seq": seq})
            else:
                self.send_json(404, {"error": f"no route {self.path}"})

        def local_only(self) -> bool:
            """Shifting traffic or stopping the router is for the canary's own tasks, on this host."""
            if self.client_is_local():
                return True
            self.send_json(403, {"error": "admin endpoints answer local clients only"})
            return False

        def predict(self, body: bytes) -> None:
            model, seq = ledger.choose()
            start = time.perf_counter()
            try:
                status, payload = forward(model, body)
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                status, payload = 502, json.dumps({"error": f"upstream {model} unreachable: {exc}"}).encode()
            elapsed_ms = (time.perf_counter() - start) * 1000
            ledger.record(seq, model, status < 500, elapsed_ms, _graded(status, payload, self.headers.get(LABEL_HEADER)))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Canary-Model", model)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _graded(status: int, payload: bytes, label: str | None) -> bool | None:
    """Right or wrong for a labelled request the model answered; None when there is nothing to grade."""
    if label is None or status != 200:
        return None
    try:
        predictions = json.loads(payload)["predictions"]
        return is_correct(predictions[0]["label"], label)
    except (ValueError, KeyError, IndexError, TypeError):
        return False  # a 200 without a readable prediction is a wrong answer, not a missing one


def _hostport(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", int(parsed.port or 80)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--champion", required=True, help="champion base URL")
    parser.add_argument("--challenger", required=True, help="challenger base URL")
    parser.add_argument("--weight", type=int, default=0, help="initial challenger weight in percent")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--ttl", type=float, default=3600.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="upstream timeout in seconds")
    parser.add_argument("--seed", type=int, default=0)
    add_limit_args(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s router %(levelname)s %(message)s")
    ledger = Ledger(args.weight, args.seed)
    upstreams = {"champion": _hostport(args.champion), "challenger": _hostport(args.challenger)}
    server = Server((args.host, args.port), make_handler(ledger, upstreams, args.timeout), limits_from_args(args))
    serve(server, args.ready_file, args.ttl)


if __name__ == "__main__":
    main()
