"""The canary's HTTP processes under hostile or broken clients: a real model server and router.

Both run as real processes (``python -m include.canary.servers`` / ``.router``) on loopback with small
limits (1 KiB bodies, 1 s to receive a request, 3 s idle), so each case below is bounded in time:
oversize bodies get 413, malformed input 400 JSON, slow-loris and silent clients are cut, and the
servers keep answering normal requests afterwards.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.request

import pytest
import requests

from include.canary import model
from include.canary import stack as local_stack
from include.demo.feedback import labeled_examples

LIMITS = ["--max-body-bytes", "1024", "--read-timeout", "1", "--idle-timeout", "3"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("canary-http")
    model.train(labeled_examples(120, seed=1), epochs=10).save(root / "m")
    run_dir = root / "run"
    run_dir.mkdir()
    server = local_stack.start_process("champion", "include.canary.servers",
                                 ["--model-dir", str(root / "m"), "--role", "champion", "--ttl", "300", *LIMITS],
                                 run_dir)
    router = local_stack.start_process("router", "include.canary.router",
                                 ["--champion", server["url"], "--challenger", server["url"], "--ttl", "300",
                                  *LIMITS], run_dir)
    yield {"server": server["url"], "router": router["url"], "port": {"server": server["port"],
                                                                       "router": router["port"]}}
    stopped = local_stack.stop_stack(run_dir)
    assert all(not s["alive"] and not s["port_in_use"] for s in stopped), stopped


def _raw(port: int, data: bytes, *, wait: float = 5.0) -> tuple[bytes, float]:
    """Send raw bytes, read until the server closes (or ``wait`` passes); return (response, seconds)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            chunks.append(b"<client gave up: server kept the connection open>")
    return b"".join(chunks), time.monotonic() - start


def _status_and_json(response: bytes) -> tuple[int, dict]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def _post(url: str, body, **kwargs) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(url, data=data, headers={"Content-Type": "application/json"}, timeout=5, **kwargs)


def _healthy(stack) -> None:
    for name in ("server", "router"):
        assert requests.get(f"{stack[name]}/health", timeout=5).status_code == 200


@pytest.mark.parametrize(("name", "path"), [("server", "/predict"), ("router", "/predict"),
                                            ("router", "/admin/weights")])
def test_oversize_body_is_refused_with_413_before_it_is_read(stack, name, path):
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10 * 1024 * 1024}\r\n\r\n").encode()
    response, seconds = _raw(stack["port"][name], head + b'{"texts": ["')
    status, body = _status_and_json(response)
    assert status == 413 and "exceeds the limit of 1024" in body["error"]
    assert seconds < 4  # answered at once, not after waiting for 10 MiB
    # A client that does send the whole oversize body still reads the 413 (no reset).
    sent = _post(stack[name] + path, {"texts": ["x" * 64] * 200})
    assert sent.status_code == 413 and sent.json()["error"].startswith("body of")
    _healthy(stack)


def test_expect_100_continue_with_an_oversize_body_gets_413_not_continue(stack):
    head = (b"POST /predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: 5000000\r\n\r\n")
    response, _ = _raw(stack["port"]["server"], head)
    assert response.startswith(b"HTTP/1.1 413") and b"100 Continue" not in response


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'"texts"', b'{"texts": "abc"}',
                                  b'{"texts": [1, 2]}', b'{"texts": []}', b'{"text": 7}', b"{}"])
def test_server_answers_malformed_predictions_with_400_json(stack, body):
    response = _post(stack["server"] + "/predict", body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/json" and response.json()["error"]


@pytest.mark.parametrize("body", [b"{not json", b"[10]", b"{}", b'{"challenger": "10"}', b'{"challenger": true}',
                                  b'{"challenger": 12.5}', b'{"challenger": 101}', b'{"challenger": -1}',
                                  b'{"challenger": null}'])
def test_router_answers_bad_weights_with_400_json_and_keeps_its_weight(stack, body):
    before = requests.get(stack["router"] + "/health", timeout=5).json()["weight"]
    response = _post(stack["router"] + "/admin/weights", body)
    assert response.status_code == 400 and response.json()["error"], response.text
    assert requests.get(stack["router"] + "/health", timeout=5).json()["weight"] == before


@pytest.mark.parametrize("query", ["since=abc", "since=-1", "since=1e3", "since="])
def test_router_answers_a_bad_since_with_400_json(stack, query):
    for path in ("/admin/counts", "/admin/metrics"):
        response = requests.get(f"{stack['router']}{path}?{query}", timeout=5)
        if query == "since=":  # empty = not given: the default 0
            assert response.status_code == 200
            continue
        assert response.status_code == 400 and "since" in response.json()["error"], response.text


def test_good_requests_still_work_over_one_keep_alive_connection(stack):
    with requests.Session() as session:
        weights = session.post(stack["router"] + "/admin/weights", json={"challenger": 0}, timeout=5)
        assert weights.status_code == 200 and weights.json()["weight"] == 0
        prediction = session.post(stack["router"] + "/predict", json={"texts": ["Great support, thanks!"]},
                                  timeout=5)
        assert prediction.status_code == 200 and prediction.headers["X-Canary-Model"] == "champion"
        counts = session.get(stack["router"] + "/admin/counts?since=0", timeout=5).json()
        assert counts["champion"]["n"] >= 1


@pytest.mark.parametrize("head", [b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                                  b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                                  b"NONSENSE\r\n\r\n",
                                  b"GET /health HTTP/1.1\r\n" + b"X: y\r\n" * 150 + b"\r\n"])
def test_broken_framing_gets_a_json_error_and_a_closed_connection(stack, head):
    response, seconds = _raw(stack["port"]["router"], head)
    status, body = _status_and_json(response)
    assert status in (400, 411, 431) and body["error"]
    assert seconds < 2.5 and b"client gave up" not in response


def test_slow_loris_is_cut_at_the_read_timeout(stack):
    """One byte every 0.3 s never trips a per-recv timeout; the whole-request deadline (1 s) does."""
    start = time.monotonic()
    received = b""
    with socket.create_connection(("127.0.0.1", stack["port"]["server"]), timeout=5) as sock:
        try:
            for byte in b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n" + b"x" * 20:
                sock.sendall(bytes([byte]))
                time.sleep(0.3)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: what we wanted
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    elapsed = time.monotonic() - start
    assert received.startswith(b"HTTP/1.1 408"), received
    assert elapsed < 4, elapsed  # cut after ~1 s instead of ~24 s of trickling
    _healthy(stack)


def test_a_client_that_stops_mid_body_gets_408_within_the_read_timeout(stack):
    head = b"POST /admin/weights HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"challenger\":"
    response, seconds = _raw(stack["port"]["router"], head)
    assert response.startswith(b"HTTP/1.1 408") and 0.8 < seconds < 3, (response, seconds)


def test_idle_and_silent_connections_are_closed(stack):
    response, seconds = _raw(stack["port"]["router"], b"", wait=10)  # connect, say nothing
    assert response == b"" and 2.5 < seconds < 6, (response, seconds)
    # A keep-alive connection idle past the idle timeout is closed by the server too.
    conn = http.client.HTTPConnection("127.0.0.1", stack["port"]["server"], timeout=10)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 200 and response.read()
        start = time.monotonic()
        assert conn.sock.recv(4096) == b"" and 2.5 < time.monotonic() - start < 6  # closed by the server
    finally:
        conn.close()


def test_many_slow_clients_do_not_starve_a_normal_one(stack):
    socks = [socket.create_connection(("127.0.0.1", stack["port"]["router"]), timeout=5) for _ in range(50)]
    try:
        for sock in socks:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        health = urllib.request.urlopen(stack["router"] + "/health", timeout=5)
        assert health.status == 200 and time.monotonic() - start < 1
    finally:
        for sock in socks:
            sock.close()
