"""scripts/stack_auth.py without a stack: the passwords file start.sh prepares in login mode."""

from __future__ import annotations

import json
import os
import stat

import pytest

from scripts import stack_auth
from scripts.stack_auth import User


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_passwords_are_created_private_and_kept_across_restarts(tmp_path):
    path = tmp_path / "home" / "simple_auth_manager_passwords.json.generated"
    new = stack_auth.ensure_passwords([User("alice", "admin"), User("bob", "viewer")], path)
    assert set(new) == {"alice", "bob"} and all(len(p) == 16 for p in new.values())
    assert _mode(path) == 0o600 and json.loads(path.read_text()) == new

    # Restart with one more user: the others keep their passwords, only the new one is returned (printed).
    again = stack_auth.ensure_passwords([User("alice", "admin"), User("bob", "viewer"), User("carol", "op")], path)
    assert set(again) == {"carol"}
    assert json.loads(path.read_text()) == {**new, **again}


def test_a_world_readable_file_from_airflow_is_tightened_and_reused(tmp_path):
    # What Airflow itself leaves behind when it generates passwords: open(..., "a+") under umask 022.
    path = tmp_path / "passwords.json"
    path.write_text(json.dumps({"alice": "kept"}) + "\n")
    os.chmod(path, 0o644)
    assert stack_auth.ensure_passwords([User("alice", "admin")], path) == {}
    assert _mode(path) == 0o600 and json.loads(path.read_text()) == {"alice": "kept"}


def test_the_stack_acts_as_its_strongest_user(monkeypatch, tmp_path):
    assert stack_auth.api_user([User("v", "viewer"), User("o", "op"), User("a", "admin")]) == User("a", "admin")
    assert stack_auth.api_user([User("v", "viewer"), User("o", "op")]) == User("o", "op")
    assert stack_auth.api_user([]) is None

    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "bob:viewer, alice:admin")
    assert stack_auth.configured_users() == [User("bob", "viewer"), User("alice", "admin")]
    monkeypatch.setenv("GENAI_STACK_AUTH", "all-admins")
    assert stack_auth.api_credentials() is None
    monkeypatch.setenv("GENAI_STACK_AUTH", "users")
    passwords = tmp_path / "pw.json"
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    stack_auth.ensure_passwords(stack_auth.configured_users(), passwords)
    assert stack_auth.api_credentials() == ("alice", json.loads(passwords.read_text())["alice"])


def test_the_passwords_file_is_the_one_airflow_reads(monkeypatch, tmp_path):
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    assert str(stack_auth.passwords_file()) == SimpleAuthManager.get_generated_password_file()
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(tmp_path / "p.json"))
    assert str(stack_auth.passwords_file()) == SimpleAuthManager.get_generated_password_file() == str(tmp_path / "p.json")


def test_no_password_yet_is_a_lookup_error_not_an_exit(monkeypatch, tmp_path):
    """`make run` (apply_airflow_settings.py) before the first login-mode start must go on without one."""
    monkeypatch.setenv("GENAI_STACK_AUTH", "users")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "alice:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(LookupError, match="no password for user 'alice'"):
        stack_auth.api_credentials()
