"""The Airflow REST client: encoded path parts, no server -> AirflowAPIUnavailable, refused credentials ->
PermanentError; against a closed port, a silent socket, a loopback stub that refuses, and a real api-server."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from include.platform.airflow_api import AirflowAPI, AirflowAPIError, AirflowAPIUnavailable, api_path
from include.platform.errors import PermanentError
from tests.fixtures.emulators import free_port


def test_path_parts_are_encoded_one_by_one():
    assert api_path("pools", "inference") == "pools/inference"
    assert api_path("pools", "a/b?c=1#d e%") == "pools/a%2Fb%3Fc%3D1%23d%20e%25"
    assert api_path("dags", "~", "dagRuns", "~", "taskInstances") == "dags/~/dagRuns/~/taskInstances"
    assert api_path("dags", "x", "dagRuns", 7) == "dags/x/dagRuns/7"
    for bad in ("..", ".", ""):
        with pytest.raises(ValueError, match="dot segment"):
            api_path("pools", bad)


def test_no_server_raises_unavailable_with_the_url_and_the_fix():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    api = AirflowAPI(url)
    started = time.monotonic()
    with pytest.raises(AirflowAPIUnavailable) as err:
        api.get("pools")
    assert time.monotonic() - started < 5
    message = str(err.value)
    assert url in message and "/auth/token" in message and "run `make start`" in message
    assert isinstance(err.value, AirflowAPIError)  # older callers that catch the base class still do


def test_a_server_that_never_answers_times_out_as_unavailable():
    with socket.socket() as listener:  # accepts TCP connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        api = AirflowAPI(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
        with pytest.raises(AirflowAPIUnavailable, match="timed out"):
            api.get("pools")


class _Refusing(BaseHTTPRequestHandler):
    """Issues a token only to admin/admin; refuses one endpoint with 403 (a user without permission)."""

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/auth/token" and body == {"username": "admin", "password": "admin"}:  # pragma: allowlist secret
            self._send(201, {"access_token": "t0ken"})
        else:
            self._send(401, {"detail": "Invalid credentials"})

    def do_GET(self):  # noqa: N802
        if self.headers.get("Authorization") != "Bearer t0ken":
            self._send(401, {"detail": "Not authenticated"})
        elif self.path.startswith("/api/v2/pools/forbidden"):
            self._send(403, {"detail": "Forbidden"})
        else:
            self._send(404, {"detail": "not found"})

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_refused_credentials_are_permanent_and_name_the_connection(refusing_server, monkeypatch, airflow_db):
    host = refusing_server.removeprefix("http://")
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", f"http://admin:wrong@{host}")  # pragma: allowlist secret
    api = AirflowAPI.from_settings()
    assert (api.base_url, api.username) == (refusing_server, "admin")
    with pytest.raises(PermanentError, match="connection 'airflow_api'") as err:
        api.get("pools")
    assert "401" in str(err.value) and "login 'admin'" in str(err.value)

    good = AirflowAPI(refusing_server, "admin", "admin")
    with pytest.raises(PermanentError, match="403"):
        good.get(api_path("pools", "forbidden"))
    with pytest.raises(AirflowAPIError) as missing:  # other HTTP errors stay ordinary, with their status
        good.get(api_path("pools", "nope"))
    assert missing.value.status_code == 404 and not isinstance(missing.value, PermanentError)


def test_pool_names_with_separators_reach_exactly_their_pool(airflow_api_server, monkeypatch):
    from include.scaling.actions.pool import get_pool

    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", airflow_api_server["jwt_secret"])
    api = AirflowAPI(airflow_api_server["url"])
    odd, plain = "team/a?slots=99#x", "team"
    for name in (odd, plain):
        if get_pool(api, name) is not None:
            api.request("DELETE", api_path("pools", name))
    api.post("pools", {"name": plain, "slots": 1, "description": "decoy"})
    api.post("pools", {"name": odd, "slots": 2, "description": "odd name"})
    try:
        assert get_pool(api, odd)["name"] == odd and get_pool(api, odd)["slots"] == 2
        body = {"pool": odd, "slots": 5, "include_deferred": False, "description": "odd name"}
        assert api.patch(api_path("pools", odd), body, update_mask=["slots"])["slots"] == 5
        assert get_pool(api, plain)["slots"] == 1  # the decoy the unencoded path would have hit
        with pytest.raises(AirflowAPIError) as unencoded:  # what the old f"pools/{name}" sent: team/a + a query
            api.get(f"pools/{odd}")
        assert unencoded.value.status_code == 404
    finally:
        for name in (odd, plain):
            api.request("DELETE", api_path("pools", name))
