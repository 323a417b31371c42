"""Apply airflow_settings.yaml (the astro CLI's schema) to the local metadata DB.

`astro dev start` does this for the Docker stack; `make start` calls this script so the
Docker-free stack gets the same connections, pools and variables. Safe to re-run: every entry is
upserted. Entries with an empty id/name (the template's placeholders) are skipped.

In login mode (users configured, as a non-loopback ``AIRFLOW_HOST`` requires; see
scripts/stack_auth.py) it keeps connection ``airflow_api`` — what tasks use to call Airflow's REST
API — pointed at this stack with an admin user's login and password, stored encrypted in the
metadata DB rather than in the environment every task inherits. A connection of that id the user made (in the UI, or ``AIRFLOW_CONN_AIRFLOW_API``) is
never touched; ours carries :data:`MANAGED` as its description and is removed when everyone is admin.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

API_CONN_ID = "airflow_api"  # include.platform.airflow_api.API_CONN_ID
MANAGED = "managed by scripts/start.sh (login mode): the stack's own REST client"


def main(path: str = "airflow_settings.yaml") -> int:
    from airflow.models import Connection, Pool, Variable
    from airflow.utils.session import create_session

    settings = (yaml.safe_load(Path(path).read_text()) or {}).get("airflow", {}) or {}
    applied = {"connections": 0, "pools": 0, "variables": 0}
    with create_session() as session:
        for item in settings.get("connections") or []:
            conn_id = item.get("conn_id")
            if not conn_id:
                continue
            if item.get("conn_uri"):
                conn = Connection(conn_id=conn_id, uri=item["conn_uri"])
            else:
                extra = item.get("conn_extra")
                conn = Connection(
                    conn_id=conn_id,
                    conn_type=item.get("conn_type"),
                    host=item.get("conn_host"),
                    schema=item.get("conn_schema"),
                    login=item.get("conn_login"),
                    password=item.get("conn_password"),
                    port=item.get("conn_port"),
                    extra=json.dumps(extra) if isinstance(extra, dict) else extra,
                )
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
            session.add(conn)
            applied["connections"] += 1
        session.commit()
        for item in settings.get("pools") or []:
            name = item.get("pool_name")
            if not name:
                continue
            Pool.create_or_update_pool(
                name=name,
                slots=int(item.get("pool_slot", 1)),
                description=item.get("pool_description") or "",
                include_deferred=False,
                session=session,
            )
            applied["pools"] += 1
        for item in settings.get("variables") or []:
            key = item.get("variable_name")
            if not key:
                continue
            Variable.set(key, "" if item.get("variable_value") is None else str(item["variable_value"]),
                         session=session)
            applied["variables"] += 1
        note = sync_api_connection(session)
    print(f"Applied {path}: " + ", ".join(f"{v} {k}" for k, v in applied.items()) + (f"; {note}" if note else ""))
    return 0


def sync_api_connection(session) -> str:
    """Create, refresh or remove our ``airflow_api`` connection for the current auth mode; returns a note."""
    import os
    from urllib.parse import urlsplit

    from airflow.models import Connection

    from scripts.stack_auth import api_credentials

    existing = session.query(Connection).filter(Connection.conn_id == API_CONN_ID).one_or_none()
    if os.environ.get(f"AIRFLOW_CONN_{API_CONN_ID.upper()}") or (existing is not None
                                                                 and existing.description != MANAGED):
        return f"connection {API_CONN_ID} is yours (left as is)"
    try:
        credentials = api_credentials()
    except LookupError as exc:  # `make run` before the first login-mode start: nothing to point at yet
        return f"connection {API_CONN_ID} unchanged ({exc})"
    if existing is not None:
        session.delete(existing)
        session.flush()
    if credentials is None:  # everyone is admin: the client's anonymous /auth/token works
        session.commit()
        return ""
    login, password = credentials
    url = urlsplit(os.environ["GENAI_API_CLIENT_URL"])
    host = f"[{url.hostname}]" if ":" in (url.hostname or "") else url.hostname
    session.add(Connection(conn_id=API_CONN_ID, conn_type="http", description=MANAGED, schema=url.scheme,
                           host=host, port=url.port, login=login, password=password))
    session.commit()
    return f"connection {API_CONN_ID} logs in as {login!r}"


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
