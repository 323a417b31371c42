"""Load generator: replays recorded ``/predict`` requests against the router at a steady rate.

Recorded requests are JSON lines, one request body each (``{"text": ...}`` or ``{"row": {...}}``),
written by :mod:`include.canary.replay` from the traffic the model really gets. A line's ``label``
(when it has one) is not sent in the body: it travels in the ``X-Canary-Label`` header, so the
router can grade the answer and the model never sees it. The process runs until SIGTERM, the TTL, or
``--max-requests``, and writes what it sent to ``--stats-file`` on the way out.

Open loop on purpose: requests are scheduled on a clock, not "send the next when the last returns",
so a slow challenger cannot throttle the load and hide its own latency.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger("canary.loadgen")


LABEL_HEADER = "X-Canary-Label"  # the router's include.canary.router.LABEL_HEADER (not imported: stay light)


def load_requests(path: str | Path) -> list[tuple[bytes, dict[str, str]]]:
    """``(body, headers)`` per recorded line; a line's ``label`` moves from the body to the label header."""
    out = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        body = json.loads(line)
        headers = {"Content-Type": "application/json"}
        if isinstance(body, dict) and body.get("label") is not None:
            headers[LABEL_HEADER] = str(body.pop("label"))
        out.append((json.dumps(body).encode(), headers))
    if not out:
        raise ValueError(f"{path} holds no recorded requests")
    return out


class Replayer:
    """``concurrency`` threads share one schedule of ``rate`` requests per second."""

    def __init__(self, url: str, bodies: list[tuple[bytes, dict[str, str]]], rate: float, concurrency: int, timeout: float = 10.0):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", int(parsed.port or 80)
        self.bodies = bodies
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.concurrency = concurrency
        self.timeout = timeout
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._next_slot = time.monotonic()
        self._i = 0
        self.sent = 0
        self.status: dict[str, int] = {}
        self.latencies_ms: list[float] = []

    def _take(self) -> tuple[tuple[bytes, dict[str, str]], float]:
        with self._lock:
            body = self.bodies[self._i % len(self.bodies)]
            self._i += 1
            slot = self._next_slot
            self._next_slot = max(self._next_slot + self.interval, time.monotonic() - 1.0)
            return body, slot

    def _worker(self, max_requests: int | None) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        while not self.stop.is_set():
            if max_requests is not None:
                with self._lock:
                    if self.sent >= max_requests:
                        return
                    self.sent += 1
            (body, headers), slot = self._take()
            delay = slot - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                return
            start = time.perf_counter()
            try:
                conn.request("POST", "/predict", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                key = str(resp.status)
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                key = type(exc).__name__
                if self.stop.wait(0.05):  # router gone: do not spin
                    return
            elapsed = (time.perf_counter() - start) * 1000
            with self._lock:
                if max_requests is None:
                    self.sent += 1
                self.status[key] = self.status.get(key, 0) + 1
                self.latencies_ms.append(elapsed)
        conn.close()

    def run(self, max_requests: int | None = None, duration: float | None = None) -> dict:
        threads = [threading.Thread(target=self._worker, args=(max_requests,), daemon=True)
                   for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + duration if duration else None
        while any(t.is_alive() for t in threads):
            if deadline and time.monotonic() > deadline:
                self.stop.set()
            for t in threads:
                t.join(timeout=0.2)
        return {"sent": self.sent, "status": self.status}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="router base URL")
    parser.add_argument("--requests-file", required=True, help="JSON lines, one request body each")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--ttl", type=float, default=3600.0)
    parser.add_argument("--ready-file")
    parser.add_argument("--stats-file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s loadgen %(levelname)s %(message)s")
    replayer = Replayer(args.url, load_requests(args.requests_file), args.rate, args.concurrency)
    signal.signal(signal.SIGTERM, lambda *_: replayer.stop.set())
    signal.signal(signal.SIGINT, lambda *_: replayer.stop.set())
    if args.ready_file:
        Path(args.ready_file).write_text(json.dumps({"port": None, "pid": os.getpid()}))
    log.info("replaying %s requests at %s rps to %s", len(replayer.bodies), args.rate, args.url)
    stats = replayer.run(duration=args.ttl)
    log.info("stopped after %s requests: %s", stats["sent"], stats["status"])
    if args.stats_file:
        Path(args.stats_file).write_text(json.dumps(stats))


if __name__ == "__main__":
    main()
