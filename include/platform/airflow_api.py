"""A small client for Airflow's own REST API (``/api/v2``), used by tasks that read or change Airflow.

Airflow 3 task code may not touch the metadata DB through the ORM; the REST API is the supported
way to read task durations (cost report), queue depth per pool and resize pools (autoscaling).

Where to connect: connection ``airflow_api`` (type ``http``: host = base URL, login/password of an
Airflow user) when it exists, else Variable ``genai_airflow_api_url`` (default
``http://localhost:8080``, what ``make start`` serves). With no credentials the client asks
``GET /auth/token``, which Airflow answers only when ``simple_auth_manager_all_admins`` is on (the
local default, as in ``astro dev start``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import requests

from include.platform.settings import get_setting

log = logging.getLogger(__name__)

API_CONN_ID = "airflow_api"


class AirflowAPIError(RuntimeError):
    pass


class AirflowAPI:
    def __init__(self, base_url: str, username: str | None = None, password: str | None = None,
                 timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
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
        return cls(get_setting("airflow_api_url", "http://localhost:8080") or "http://localhost:8080")

    def _auth_header(self) -> dict[str, str]:
        if self._token is None:
            if self.username:
                resp = self._session.post(f"{self.base_url}/auth/token", timeout=self.timeout,
                                          json={"username": self.username, "password": self.password or ""})
            else:
                resp = self._session.get(f"{self.base_url}/auth/token", timeout=self.timeout)
            if resp.status_code >= 400:
                raise AirflowAPIError(
                    f"could not get an API token from {self.base_url}/auth/token ({resp.status_code}): "
                    f"set login/password on connection {API_CONN_ID!r}"
                )
            self._token = resp.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/api/v2/{path.lstrip('/')}"
        resp = self._session.request(method, url, headers=self._auth_header(), timeout=self.timeout, **kwargs)
        if resp.status_code == 401:  # token expired: fetch a new one once
            self._token = None
            resp = self._session.request(method, url, headers=self._auth_header(), timeout=self.timeout, **kwargs)
        if resp.status_code >= 400:
            raise AirflowAPIError(f"{method} {url} -> {resp.status_code}: {resp.text[:500]}")
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
