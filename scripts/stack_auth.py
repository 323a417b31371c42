"""Who may use the local stack, and how the stack's own REST clients log in.

``make start`` binds 127.0.0.1 and lets every visitor in as admin (``simple_auth_manager_all_admins``),
as ``astro dev start`` does: only programs on this machine can reach it. Bound anywhere else
(``AIRFLOW_HOST=0.0.0.0``), anyone on the network could trigger DAGs, edit connections and read
logs, so ``scripts/start.sh`` then requires the simple auth manager's users
(``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS``) and this module:

* writes a password for each configured user into the file Airflow reads them from
  (``[core] simple_auth_manager_passwords_file``, default
  ``$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated``) with mode 0600, *before* the
  api-server starts. Airflow would generate them itself, but it creates the file world-readable
  (umask) and prints each password into ``logs/api-server.log``; here it is printed once, to the
  terminal that ran ``make start``;
* gives the stack's own clients (``scripts/first_run.py``, the ``airflow_api`` connection tasks use)
  the credentials of one admin user.

Run as ``python scripts/stack_auth.py passwords`` (what start.sh does in login mode).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

# Airflow's own password alphabet (SimpleAuthManager._generate_password): no look-alike characters.
_ALPHABET = "abcdefghkmnpqrstuvwxyzABCDEFGHKMNPQRSTUVWXYZ23456789"  # pragma: allowlist secret
_ROLE_PREFERENCE = ("admin", "op", "user", "viewer")


@dataclass(frozen=True)
class User:
    username: str
    role: str


def login_required() -> bool:
    """True when the stack runs with users (start.sh exports ``GENAI_STACK_AUTH=users``)."""
    return os.environ.get("GENAI_STACK_AUTH") == "users"


def configured_users() -> list[User]:
    """``[core] simple_auth_manager_users`` as Airflow parses it (``name:role[:teams]``, comma-separated)."""
    from airflow.configuration import conf

    users = []
    for item in conf.getlist("core", "simple_auth_manager_users"):
        name, _, rest = item.strip().partition(":")
        if name:
            users.append(User(name, rest.split(":", 1)[0] or "viewer"))
    return users


def passwords_file() -> Path:
    """The file the simple auth manager reads passwords from.

    Airflow's rule (``SimpleAuthManager.get_generated_password_file``), restated because importing
    the auth manager pulls in the whole FastAPI app (~5 s per start).
    """
    from airflow.configuration import AIRFLOW_HOME, conf

    configured = conf.get("core", "simple_auth_manager_passwords_file", fallback=None)
    return Path(configured or os.path.join(AIRFLOW_HOME, "simple_auth_manager_passwords.json.generated"))


def _read(path: Path) -> dict[str, str]:
    text = path.read_text().strip() if path.exists() else ""
    return json.loads(text) if text else {}


def ensure_passwords(users: list[User], path: Path) -> dict[str, str]:
    """Give every user in ``users`` a password in ``path`` (mode 0600); return only the new ones.

    Existing passwords are kept, so users log in with the same password after a restart. The file is
    created 0600 (never briefly world-readable) and an older, looser one is tightened.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    passwords = _read(path)
    new = {u.username: "".join(secrets.choice(_ALPHABET) for _ in range(16))
           for u in users if u.username not in passwords}
    if new:
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps({**passwords, **new}) + "\n")
        os.replace(tmp, path)
    return new


def api_user(users: list[User]) -> User | None:
    """The user the stack's own REST clients act as: the first admin (pools, runs), else the strongest role."""
    for role in _ROLE_PREFERENCE:
        for user in users:
            if user.role == role:
                return user
    return None


def api_credentials() -> tuple[str, str] | None:
    """(username, password) for the stack's REST clients in login mode; None when everyone is admin."""
    if not login_required():
        return None
    user = api_user(configured_users())
    if user is None:
        raise LookupError("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS lists no user with a known role "
                          f"({', '.join(_ROLE_PREFERENCE)})")
    password = _read(passwords_file()).get(user.username)
    if not password:
        raise LookupError(f"no password for user {user.username!r} in {passwords_file()} yet (make start writes it)")
    return user.username, password


def main(argv: list[str]) -> int:
    if argv[:1] != ["passwords"]:
        print("usage: stack_auth.py passwords", file=sys.stderr)
        return 2
    users = configured_users()
    if not users:
        print("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS is empty: set e.g. you:admin", file=sys.stderr)
        return 1
    path = passwords_file()
    for name, password in ensure_passwords(users, path).items():
        # Shown once, here: Airflow prints nothing because the user already has a password.
        print(f"    Password for user '{name}': {password}   (kept in {path}, mode 0600; shown only now)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
