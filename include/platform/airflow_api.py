"""A small client for Airflow's own REST API (``/api/v2``), used by tasks that read or change Airflow.

Airflow 3 task code may not touch the metadata DB through the ORM; the REST API is the supported
way to read task durations (cost report), queue depth per pool and resize pools (autoscaling).

Where to connect: connection ``airflow_api`` (type ``http``: host = base URL, login/password of an
Airflow user) when it exists, else Variable ``genai_airflow_api_url`` (``make start`` sets it to the
stack's loopback address, ``http://127.0.0.1:8080``). With no credentials the client asks
``GET /auth/token``, which Airflow answers only when ``simple_auth_manager_all_admins`` is on (the
loopback-only local default, as in ``astro dev start``). When ``make start`` binds another address it
requires real users and keeps connection ``airflow_api`` (the admin's login, stored encrypted in the
metadata DB) up to date, so this client logs in instead.

Failures are told apart because callers must react differently:

* :class:`AirflowAPIUnavailable` — nothing answers (connection refused, DNS, timeout). Typical for
  ``make run DAG=...`` (``airflow dags test``) without ``make start``; callers that can live without
  the API (the autoscaling monitor's queue metric, the platform cost source) degrade and say why.
* :class:`~include.platform.errors.PermanentError` — the server refused our credentials (401/403):
  a retry sends the same credentials, so the task fails at once naming connection ``airflow_api``.
* :class:`AirflowAPIError` — any other HTTP error (``status_code`` set; 404 = not found).

Path parts that come from Params or data (a pool name) go through :func:`api_path`, which
percent-encodes each part: a pool named ``a?b`` must not turn into the query string of ``pools/a``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

from include.platform.errors import PermanentError
from include.platform.settings import setting

log = logging.getLogger(__name__)

API_CONN_ID = "airflow_api"
DEFAULT_URL = "http://localhost:8080"
#: Seconds to wait for a TCP connection; a local server that is up answers in milliseconds.
CONNECT_TIMEOUT_S = 5.0


class AirflowAPIError(RuntimeError):
    """An HTTP error from the API; ``status_code`` is None when no response came back."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AirflowAPIUnavailable(AirflowAPIError):  # noqa: N818 - reads as a state, like requests.ConnectionError
    """No API server answered at the configured URL (refused, unresolvable, timed out)."""


def api_path(*parts: str | int) -> str:
    """``api_path("pools", "a/b?c")`` -> ``"pools/a%2Fb%3Fc"``: each part encoded on its own.

    Empty, ``.`` and ``..`` parts are refused: HTTP stacks normalise dot segments, so ``pools/..``
    would address another resource than the one named.
    """
    encoded = []
    for part in parts:
        text = str(part)
        if text in ("", ".", ".."):
            raise ValueError(f"REST path part {text!r} is empty or a dot segment")
        encoded.append(quote(text, safe=""))
    return "/".join(encoded)


class AirflowAPI:
    def __init__(self, base_url: str, username: str | None = None, password: str | None = None,
                 timeout: float = 30.0, connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self._session = requests.Session()
        self._token: str | None = None

    @classmethod
    def from_settings(cls) -> AirflowAPI:
        from airflow.sdk import BaseHook

        try:
            conn = BaseHook.get_connection(API_CONN_ID)
        except Exception:  # noqa: BLE001 - connection not configured: local default
            conn = None
        if conn is not None and conn.host:
            host = conn.host if "://" in conn.host else f"{conn.schema or 'http'}://{conn.host}"
            if conn.port:
                host = f"{host}:{conn.port}"
            return cls(host, conn.login or None, conn.password or None)
        return cls(setting("airflow_api_url", DEFAULT_URL))

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP call; a transport failure becomes :class:`AirflowAPIUnavailable` with the fix."""
        try:
            return self._session.request(method, url, timeout=(self.connect_timeout, self.timeout), **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            kind = "timed out" if isinstance(exc, requests.Timeout) else "refused or unreachable"
            raise AirflowAPIUnavailable(
                f"Airflow REST API at {self.base_url} is not reachable ({kind}: {method} {url}): "
                f"run `make start` (or point connection {API_CONN_ID!r} / Variable genai_airflow_api_url "
                f"at a running api-server)") from exc

    def _refused(self, resp: requests.Response, url: str) -> PermanentError:
        who = (f"the credentials of connection {API_CONN_ID!r} (login {self.username!r})" if self.username
               else "an anonymous token request (simple auth manager with all_admins off?)")
        return PermanentError(
            f"Airflow REST API refused {who}: {resp.status_code} on {url}",
            f"set login/password of a user allowed to do this on connection {API_CONN_ID!r}")

    def _auth_header(self) -> dict[str, str]:
        if self._token is None:
            url = f"{self.base_url}/auth/token"
            if self.username:
                resp = self._send("POST", url, json={"username": self.username, "password": self.password or ""})
            else:
                resp = self._send("GET", url)
            if resp.status_code in (401, 403):
                raise self._refused(resp, url)
            if resp.status_code >= 400:
                raise AirflowAPIError(f"could not get an API token from {url} ({resp.status_code}): "
                                      f"{resp.text[:300]}", resp.status_code)
            self._token = resp.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/api/v2/{path.lstrip('/')}"
        resp = self._send(method, url, headers=self._auth_header(), **kwargs)
        if resp.status_code == 401:  # token expired: fetch a new one once
            self._token = None
            resp = self._send(method, url, headers=self._auth_header(), **kwargs)
        if resp.status_code in (401, 403):
            raise self._refused(resp, url)
        if resp.status_code >= 400:
            raise AirflowAPIError(f"{method} {url} -> {resp.status_code}: {resp.text[:500]}", resp.status_code)
        return resp.json() if resp.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def patch(self, path: str, body: dict[str, Any], **params: Any) -> Any:
        return self.request("PATCH", path, json=body, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json=body)

    def paginate(self, path: str, key: str, page_size: int = 100, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield every item of a list endpoint (``limit``/``offset`` pagination)."""
        offset = 0
        while True:
            page = self.get(path, limit=page_size, offset=offset, **params)
            items = page.get(key, [])
            yield from items
            offset += len(items)
            if not items or offset >= page.get("total_entries", 0):
                return
