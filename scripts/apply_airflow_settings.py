"""Apply airflow_settings.yaml (the astro CLI's schema) to the local metadata DB.

`astro dev start` does this for the Docker stack; `make start` calls this script so the
Docker-free stack gets the same connections, pools and variables. Safe to re-run: every entry is
upserted. Entries with an empty id/name (the template's placeholders) are skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


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
    print(f"Applied {path}: " + ", ".join(f"{v} {k}" for k, v in applied.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
