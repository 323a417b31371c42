"""No credentials in the repository; settings files hold placeholders only."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _tracked_and_new_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return [f for f in out if (ROOT / f).is_file() and f != "constraints.txt"]


def _published_digests(files: list[str]) -> set[str]:
    """sha1 (detect-secrets' ``hashed_secret``) of every sha256 / md5 digest a tracked JSON file records under a
    key naming sha256 or md5: data manifests and benchmark results publish checksums on purpose, and JSON has no
    comment to carry the allowlist pragma. Only exact 64-hex (sha256) or 32-hex (md5) values under such keys are
    let through."""
    found: set[str] = set()

    def walk(node, under_digest: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, under_digest or any(d in str(key).lower() for d in ("sha256", "md5")))
        elif isinstance(node, list):
            for value in node:
                walk(value, under_digest)
        elif under_digest and isinstance(node, str) and re.fullmatch(r"[0-9a-f]{64}|[0-9a-f]{32}", node):
            found.add(hashlib.sha1(node.encode()).hexdigest())

    for name in files:
        if name.endswith(".json"):
            try:
                walk(json.loads((ROOT / name).read_text()), False)
            except (ValueError, UnicodeDecodeError):
                continue
    return found


def test_detect_secrets_finds_nothing():
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    files = _tracked_and_new_files()
    secrets = SecretsCollection(root=str(ROOT))
    with default_settings():
        # One process, file by file: scan_files() forks a multiprocessing pool from inside the pytest process
        # (threads of emulators and torch alive), and a run hung there on a dead pool worker.
        for name in files:
            secrets.scan_file(name)
    digests = _published_digests(files)
    findings = {f: kept for f, v in secrets.json().items()
                if (kept := [(s["type"], s["line_number"]) for s in v if s["hashed_secret"] not in digests])}
    assert not findings, (
        f"possible credentials: {findings}. Move real values to .env (git-ignored); for public test "
        "values add '# pragma: allowlist secret' on the line."
    )


def test_airflow_settings_yaml_has_no_credentials():
    settings = yaml.safe_load((ROOT / "airflow_settings.yaml").read_text())["airflow"]
    for conn in settings.get("connections") or []:
        assert not conn.get("conn_password"), f"{conn['conn_id']}: password in airflow_settings.yaml"
        assert not conn.get("conn_login"), f"{conn['conn_id']}: login in airflow_settings.yaml"
        assert "@" not in (conn.get("conn_uri") or ""), f"{conn['conn_id']}: credentials in conn_uri"
        extra = json.dumps(conn.get("conn_extra") or {}).lower()
        assert not re.search(r"(key|secret|token|password)\"?\s*:\s*\"[^\"<]", extra), conn["conn_id"]


def test_env_example_holds_placeholders_only():
    for line in (ROOT / ".env_example").read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        assert line.startswith("#"), f".env_example must keep every setting commented out: {line}"
        for value in re.findall(r'"(?:password|login|connection_string|token)":\s*"([^"]*)"', line):
            assert value.startswith("<") and value.endswith(">"), f"not a placeholder: {line}"
        for user, pw in re.findall(r"://([^:@/\s]+):([^@\s]+)@", line):
            assert user.startswith("<") and pw.startswith("<"), f"not a placeholder: {line}"
