"""CanaryBakeTrigger: serialisable for the triggerer, ends a bake on time and data, fails safe.

It polls a real router (include/canary/router.py) served on a loopback port from a thread.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
import time

import pytest

from include.canary.httpbase import Server
from include.canary.router import Ledger, make_handler


@pytest.fixture(scope="module")
def trigger_cls():
    import airflow  # noqa: F401 - puts plugins/ on sys.path, as in the triggerer

    return importlib.import_module("genai_airflow.canary.triggers").CanaryBakeTrigger


@pytest.fixture
def router():
    ledger = Ledger(weight=10, seed=0)
    server = Server(("127.0.0.1", 0), make_handler(ledger, {}, timeout=1.0))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield ledger, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _first_event(trigger):
    async def first():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(first())


def test_serialize_names_an_importable_class_and_round_trips(trigger_cls):
    trigger = trigger_cls(weight=25, bake_seconds=3, max_step_seconds=30, min_requests=50,
                          counts_url="http://127.0.0.1:1/admin/counts?since=7", state={"marker": 7})
    classpath, kwargs = trigger.serialize()
    assert classpath == "genai_airflow.canary.triggers.CanaryBakeTrigger"
    module, name = classpath.rsplit(".", 1)
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert kwargs["started_at"] == trigger.started_at  # a triggerer restart keeps the bake clock


def test_bake_ends_when_baked_and_both_models_have_enough_requests(trigger_cls, router):
    ledger, url = router

    def traffic():
        for i in range(60):
            ledger.add("challenger" if i % 3 == 0 else "champion", True, 2.0)
            time.sleep(0.01)

    threading.Thread(target=traffic, daemon=True).start()
    trigger = trigger_cls(weight=10, bake_seconds=0.3, max_step_seconds=20, min_requests=15,
                          counts_url=f"{url}/admin/counts?since=0", poll_seconds=0.1, state={"rollout": {"x": 1}})
    start = time.monotonic()
    payload = _first_event(trigger)
    assert time.monotonic() - start < 10
    assert payload["state"] == {"rollout": {"x": 1}} and payload["error"] is None
    assert payload["counts"]["challenger"]["n"] >= 15 and payload["counts"]["champion"]["n"] >= 15


def test_no_traffic_ends_at_the_step_deadline_with_too_few_requests(trigger_cls, router):
    _, url = router
    trigger = trigger_cls(weight=10, bake_seconds=0.2, max_step_seconds=0.8, min_requests=5,
                          counts_url=f"{url}/admin/counts?since=0", poll_seconds=0.1)
    payload = _first_event(trigger)
    assert payload["elapsed_s"] >= 0.8
    assert payload["counts"]["challenger"]["n"] == 0  # the operator turns this into "inconclusive"


def test_unreachable_router_is_reported_not_swallowed(trigger_cls):
    trigger = trigger_cls(weight=10, bake_seconds=0.1, max_step_seconds=0.5, min_requests=5,
                          counts_url="http://127.0.0.1:9/admin/counts?since=0", poll_seconds=0.1)
    payload = _first_event(trigger)
    assert payload["counts"] is None and "router unreachable" in payload["error"]
    assert payload["early_abort"] is False


def test_without_counts_url_it_is_a_plain_timer(trigger_cls):
    trigger = trigger_cls(weight=50, bake_seconds=0.4, max_step_seconds=10, min_requests=5, poll_seconds=0.1)
    payload = _first_event(trigger)
    assert 0.4 <= payload["elapsed_s"] < 3 and payload["counts"] is None


def test_clearly_failing_challenger_ends_the_bake_early(trigger_cls, router):
    ledger, url = router
    for i in range(40):
        ledger.add("champion", True, 2.0)
        ledger.add("challenger", i % 4 != 0, 2.0)  # 25% errors against a 5% ceiling
    trigger = trigger_cls(weight=10, bake_seconds=60, max_step_seconds=120, min_requests=30,
                          counts_url=f"{url}/admin/counts?since=0", poll_seconds=0.1, max_error_rate=0.05, alpha=0.01)
    payload = _first_event(trigger)
    assert payload["early_abort"] is True and payload["elapsed_s"] < 10


def test_loopback_router_recorded_on_another_host_is_not_polled(trigger_cls, router):
    ledger, url = router
    for _ in range(30):
        ledger.add("champion", True, 2.0)
        ledger.add("challenger", True, 2.0)
    trigger = trigger_cls(weight=10, bake_seconds=0.3, max_step_seconds=20, min_requests=5,
                          counts_url=f"{url}/admin/counts?since=0", poll_seconds=0.1, stack_host="gpu-worker-7")
    assert trigger.serialize()[1]["stack_host"] == "gpu-worker-7"
    payload = _first_event(trigger)
    # Polling 127.0.0.1 here would read *this* machine's router: it must not, so no counts.
    assert payload["counts"] is None and 0.3 <= payload["elapsed_s"] < 3
    assert "'gpu-worker-7'" in payload["error"] and "cannot reach it" in payload["error"]


def test_router_recorded_on_this_host_is_polled_at_its_recorded_url(trigger_cls, router):
    import socket

    ledger, url = router
    for _ in range(10):
        ledger.add("champion", True, 2.0)
        ledger.add("challenger", True, 2.0)
    trigger = trigger_cls(weight=10, bake_seconds=0.1, max_step_seconds=5, min_requests=5,
                          counts_url=f"{url.replace('127.0.0.1', 'localhost')}/admin/counts?since=0",
                          poll_seconds=0.1, stack_host=socket.gethostname())
    payload = _first_event(trigger)
    assert payload["error"] is None and payload["counts"]["challenger"]["n"] == 10


def test_a_router_answering_garbage_is_reported_not_a_crash(trigger_cls):
    import http.server

    class Garbage(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - stdlib API
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not json!")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        trigger = trigger_cls(weight=10, bake_seconds=0.1, max_step_seconds=0.5, min_requests=5, poll_seconds=0.1,
                              counts_url=f"http://127.0.0.1:{server.server_address[1]}/admin/counts?since=0")
        payload = _first_event(trigger)
        assert payload["counts"] is None and "router unreachable" in payload["error"]
    finally:
        server.shutdown()
        server.server_close()
