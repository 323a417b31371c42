"""Model registry in the lake: immutable versions with metadata and metrics, and movable aliases.

Layout under ``<lake>/models/<name>/``::

    versions/<n>/manifest.json   name, version, created_at, sha256 of every file, metadata, metrics, status
    versions/<n>/<files>         the artifact (safetensors weights, configs, tokenizer files)
    aliases.json                 {"champion": "3", "previous": "2", "challenger": "4"}
    claims/<n>.json              who took version number <n> (created exclusively; never rewritten)
    locks/registry.lock          lease held while aliases.json or a manifest is read-modified-written
    locks/broken/<token>         one per stale lease taken over (so only one process can break it)

Why not MLflow: its ``file://`` backend refuses to run in mlflow 3.x and a ``sqlite:///`` backend is
one file on one machine, which Celery workers on other hosts cannot share. The lake already works on
local disk, S3, GCS and ADLS through one connection, so the registry moves to a cloud with the lake.
Aliases follow MLflow's current model (``name@champion``), not the deprecated stages.

Input safety. Model names match :data:`NAME_PATTERN`, versions are positive integers (refs
``name/3`` or ``name@alias``, anything else raises), and a manifest is data: its name and version
must equal the ones asked for, and every file key passes the path guard
(:func:`include.platform.paths.clean_parts`) and the unsafe-suffix rule before anything is read or
written. ``download`` builds every local path with :func:`~include.platform.paths.safe_local_join`,
so no name, version or file key can write outside the cache. Only non-executable formats are
accepted (pickles are refused on register) and every file's sha256 is verified on download.

Concurrency: two primitives, both resting on one operation, *exclusive create* (the write fails
with ``FileExistsError`` when the object exists):

* local disk: a temp file ``link()``-ed into place (atomic, content complete when visible);
  ``O_EXCL`` where the filesystem has no hard links;
* S3: ``PutObject`` with ``If-None-Match: *``; GCS: ``ifGenerationMatch=0``; Azure Blob:
  ``If-None-Match: *`` — what s3fs, gcsfs and adlfs send for ``open(path, "xb")``.

Version numbers are claimed, not computed-and-hoped: ``claims/<n>.json`` is created exclusively,
so two registrations that both computed ``n`` cannot both get it; the loser re-lists and takes the
next number (a conditional write, not a lock: no one ever waits and nothing can go stale).
Alias moves and manifest status updates are read-modify-write of one object, which needs mutual
exclusion rather than a single conditional create: fsspec exposes no compare-and-swap on an
existing object (no ``If-Match`` on write), so they take a *lease* — ``locks/registry.lock``,
created exclusively and holding its owner (token, host, pid namespace, pid, time). A lease is
taken over when it is stale: its holder ran on this host (same hostname and pid namespace) and
that process no longer exists, or it comes from another host and is older than
:data:`LOCK_TTL_S`. A takeover first creates ``locks/broken/<stale token>`` exclusively, so only
one waiter may delete a given stale lease.

Honest limits. On one host the lease is exact: it is broken only when its holder is dead. Across
hosts it is time-based, so a holder paused longer than :data:`LOCK_TTL_S` (the critical section
takes milliseconds) could overlap the next one. On object stores, deleting a stale lease reads
its token then deletes (two requests, not one). A store that ignores the conditional headers
turns exclusive create into a plain overwrite: some S3-compatible gateways (AWS S3 honours
``If-None-Match`` since August 2024), and the GCS emulator the tests use (gcsfs sends
``ifGenerationMatch=0``, which real GCS honours; gcsfs calls it experimental). Each process proves
the store once (:func:`_check_conditional_create`) and logs a warning where it is ignored; on such
a store run one registering worker per model. Verified here: local disk across processes, and S3
(moto) — see tests/include/platform/test_registry_concurrency.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from include.platform import paths, storage
from include.platform.errors import PathRefused, PermanentError
from include.platform.settings import data_dir

log = logging.getLogger(__name__)

ALIASES = ("champion", "challenger", "previous")
UNSAFE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt", ".h5")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
VERSION_PATTERN = re.compile(r"^[1-9][0-9]{0,8}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
#: File names the registry itself writes inside a version folder.
RESERVED_FILES = ("manifest.json",)

#: A lease from another host older than this is stale (the critical section takes milliseconds).
LOCK_TTL_S = 120.0
#: How long an alias move waits for the lease before failing (a retryable error).
LOCK_WAIT_S = 60.0

#: Which DAG produces each model, so a missing alias names what to run (grep ``register_model``).
PRODUCERS: dict[str, str] = {
    "sentiment": "train_sentiment_model",
    "churn": "adaptive_retraining",
    "synthetic_customers_tvae": "synthetic_data_generation",
    "canary_demo": "canary_deploy",
    "textgen": "llm_fine_tuning",
}


class RegistryError(RuntimeError):
    """Raised with a message that says what is missing or wrong in the registry (may be retried)."""


class _PermanentRegistryError(RegistryError, PermanentError):
    """A registry error no retry can fix: fails the task at once (``AirflowFailException``)."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        PermanentError.__init__(self, problem, fix)


class InvalidReferenceError(_PermanentRegistryError, ValueError):
    """A model name, version, alias or reference that does not have the registry's shape."""


class MissingModelError(_PermanentRegistryError, LookupError):
    """The model, version or alias asked for does not exist; the message names the DAG that makes it."""


class ManifestError(_PermanentRegistryError):
    """A manifest or alias file that does not describe what it claims to (tampered or corrupt)."""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    created_at: str
    files: dict[str, str]
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "registered"
    status_details: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at,
            "files": self.files,
            "metadata": self.metadata,
            "metrics": self.metrics,
            "status": self.status,
            "status_details": self.status_details,
        }


# -- names, versions, references -------------------------------------------------------------------
def check_name(name: str) -> str:
    """Return ``name`` if it is a valid model name, else raise :class:`InvalidReferenceError`."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidReferenceError(
            f"invalid model name {name!r}",
            "use 1-64 characters: lowercase letters, digits, '_', '.', '-', starting with a letter or digit",
        )
    return name


def check_version(version: str | int) -> str:
    """Return the canonical string of a version number (``3`` or ``"3"``); anything else raises."""
    text = str(version) if isinstance(version, int) and not isinstance(version, bool) else version
    if not isinstance(text, str) or not VERSION_PATTERN.fullmatch(text):
        raise InvalidReferenceError(f"invalid model version {version!r}",
                                    "versions are positive integers as the registry numbered them (1, 2, 3 ...)")
    return text


def check_alias(alias: str) -> str:
    if alias not in ALIASES:
        raise InvalidReferenceError(f"unknown alias {alias!r}; expected one of {ALIASES}", f"use one of {ALIASES}")
    return alias


def producer_dag(name: str) -> str | None:
    """The DAG that trains and registers ``name``, if the project has one."""
    return PRODUCERS.get(name)


def _how_to_produce(name: str, alias: str | None = None) -> str:
    dag = producer_dag(name)
    target = f"{name}@{alias}" if alias else name
    if dag:
        return f"run DAG {dag} first (make run DAG={dag}); it trains, registers and promotes {target}"
    return (f"register a version of {name!r} and point the alias at it first "
            "(registry.register_model(name, folder, alias=...) or registry.promote(name, version))")


def _model_root(name: str) -> storage.ObjectStoragePath:
    return storage.lake_path("models", check_name(name))


def _version_root(name: str, version: str | int) -> storage.ObjectStoragePath:
    return paths.safe_join(_model_root(name), "versions", check_version(version))


def _check_file_key(rel: str) -> str:
    """A manifest file key must be a clean relative path to a safe, non-reserved file."""
    if not isinstance(rel, str):
        raise ManifestError(f"manifest file key {rel!r} is not a string", "re-register the model")
    segments = paths.clean_parts(rel)
    if rel.lower().endswith(UNSAFE_SUFFIXES):
        raise PathRefused(f"manifest file {rel!r} has a pickle-based suffix", "register safetensors/JSON only")
    if len(segments) == 1 and segments[0] in RESERVED_FILES:
        raise PathRefused(f"manifest file {rel!r} is reserved for the registry", "rename the file")
    return "/".join(segments)


def _parse_manifest(data: Any, name: str, version: str) -> ModelVersion:
    """Validate a manifest read from the lake: it is data, and must describe exactly what was asked."""
    where = f"{name}/{version}"
    if not isinstance(data, dict):
        raise ManifestError(f"manifest of {where} is not a JSON object", "re-register the model")
    known = {f.name for f in fields(ModelVersion)}
    unknown, missing = set(data) - known, {"name", "version", "created_at", "files"} - set(data)
    if unknown or missing:
        raise ManifestError(f"manifest of {where} has unknown keys {sorted(unknown)} / lacks {sorted(missing)}",
                            "re-register the model")
    if data["name"] != name or str(data["version"]) != version:
        raise ManifestError(
            f"manifest at {where} claims to be {data['name']!r}/{data['version']!r}",
            "the lake was edited by hand or tampered with: re-register the model")
    files = data["files"]
    if not isinstance(files, dict):
        raise ManifestError(f"manifest of {where} has no file map", "re-register the model")
    checked: dict[str, str] = {}
    for rel, digest in files.items():
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ManifestError(f"manifest of {where} has no valid sha256 for {rel!r}", "re-register the model")
        checked[_check_file_key(rel)] = digest
    for key in ("metadata", "metrics", "status_details"):
        if not isinstance(data.get(key, {}), dict):
            raise ManifestError(f"manifest of {where}: {key} is not an object", "re-register the model")
    return ModelVersion(**(data | {"version": version, "files": checked}))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a local file, read in blocks (the registry's and its callers' one digest)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# -- exclusive create and the lease ------------------------------------------------------------------
def _is_local(path: storage.ObjectStoragePath) -> bool:
    return storage.is_local(path)


def _create_exclusive(path: storage.ObjectStoragePath, data: bytes) -> bool:
    return storage.create_exclusive(path, data)


_CONDITIONAL_CREATE_HONOURED: dict[str, bool] = {}


def _check_conditional_create(path: storage.ObjectStoragePath) -> None:
    """Once per process and object store: warn when the store ignores conditional create.

    gcsfs calls its ``ifGenerationMatch=0`` support experimental, and some S3-compatible gateways
    drop ``If-None-Match``; on such a store two registrations could share a number. Three requests
    (create, create again, delete) prove it once instead of trusting it forever.
    """
    models = storage.zone("models")
    key = str(models)
    if _is_local(path) or key in _CONDITIONAL_CREATE_HONOURED:
        return
    probe = paths.safe_join(models, ".probes", f"{os.getpid()}-{uuid.uuid4().hex}")
    _create_exclusive(probe, b"1")
    honoured = not _create_exclusive(probe, b"2")
    probe.unlink(missing_ok=True)
    _CONDITIONAL_CREATE_HONOURED[key] = honoured
    if not honoured:
        log.warning("%s ignored a conditional create (If-None-Match / ifGenerationMatch): concurrent "
                    "registrations or alias moves of one model may collide here; run one registering "
                    "worker per model on this store", key)


def _host_identity() -> str:
    """Host name plus pid namespace: two containers sharing a volume never mistake each other's pids."""
    try:
        pidns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        pidns = 0
    return f"{socket.gethostname()}:{pidns}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read_lease(lock: storage.ObjectStoragePath) -> dict[str, Any] | None:
    """The current lease, None when it vanished, ``{}`` when it cannot be parsed (being written)."""
    try:
        holder = json.loads(storage.read_bytes(lock))
    except FileNotFoundError:
        return None
    except (ValueError, OSError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _is_stale(holder: dict[str, Any]) -> bool:
    if not _TOKEN.fullmatch(str(holder.get("token", ""))):
        return False  # unreadable or foreign: never broken automatically (see the timeout message)
    if holder.get("host") == _host_identity() and isinstance(holder.get("pid"), int):
        return not _pid_alive(holder["pid"])
    return time.time() - float(holder.get("acquired_at", 0)) > LOCK_TTL_S


def _break_stale(lock: storage.ObjectStoragePath, holder: dict[str, Any]) -> None:
    """Delete a stale lease; only the waiter that creates its ``broken/<token>`` marker may."""
    token = str(holder["token"])
    marker = paths.safe_join(lock.parent, "broken", token)
    if not _create_exclusive(marker, json.dumps({"by": _host_identity(), "pid": os.getpid(),
                                                 "at": time.time(), "lease": holder}).encode()):
        return
    current = _read_lease(lock)
    if current and current.get("token") == token:
        lock.unlink(missing_ok=True)
        log.warning("Took over stale registry lease %s (holder %s)", lock, holder)


@contextlib.contextmanager
def _model_lock(name: str) -> Iterator[None]:
    """Hold the model's lease while a read-modify-write of aliases.json or a manifest runs."""
    lock = paths.safe_join(_model_root(name), "locks", "registry.lock")
    _check_conditional_create(lock)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + LOCK_WAIT_S
    delay = 0.005
    while True:
        lease = {"token": token, "host": _host_identity(), "pid": os.getpid(), "acquired_at": time.time()}
        if _create_exclusive(lock, json.dumps(lease).encode()):
            break
        holder = _read_lease(lock)
        if holder is None:
            continue  # released between our create and our read
        if _is_stale(holder):
            _break_stale(lock, holder)
            continue
        if time.monotonic() > deadline:
            raise RegistryError(
                f"registry lease {lock} held for over {LOCK_WAIT_S:.0f}s by {holder or 'an unreadable lease'}; "
                "if no registry write is running, delete that file")
        time.sleep(delay * (1 + random.random()))
        delay = min(delay * 2, 0.25)
    try:
        yield
    finally:
        current = _read_lease(lock)
        if current and current.get("token") == token:
            lock.unlink(missing_ok=True)
        else:
            log.warning("Registry lease %s was taken over while held (now %s)", lock, current)


def _taken_numbers(root: storage.ObjectStoragePath) -> list[int]:
    """Every version number in use: claimed (``claims/<n>.json``) or holding a folder (older layouts)."""
    taken: list[int] = []
    for sub, strip in (("versions", ""), ("claims", ".json")):
        folder = root / sub
        folder.fs.invalidate_cache(folder.path)
        try:
            children = [p.name for p in folder.iterdir()] if folder.exists() else []
        except FileNotFoundError:
            children = []
        for child in children:
            stem = child[: -len(strip)] if strip and child.endswith(strip) else child
            if VERSION_PATTERN.fullmatch(stem):
                taken.append(int(stem))
    return taken


def _claim_next_version(name: str) -> str:
    """Take the next free version number with an exclusive create of its claim."""
    root = _model_root(name)
    _check_conditional_create(root)
    claim = {"host": _host_identity(), "pid": os.getpid(), "claimed_at": datetime.now(UTC).isoformat()}
    for _ in range(1000):
        n = max(_taken_numbers(root), default=0) + 1
        if _create_exclusive(paths.safe_join(root, "claims", f"{n}.json"), json.dumps(claim).encode()):
            return str(n)
    raise RegistryError(f"could not claim a version number for {name!r} after 1000 tries")


# -- reading -------------------------------------------------------------------------------------------
def list_versions(name: str) -> list[ModelVersion]:
    root = _model_root(name) / "versions"
    root.fs.invalidate_cache(root.path)
    if not root.exists():
        return []
    out = []
    for vdir in root.iterdir():
        if not VERSION_PATTERN.fullmatch(vdir.name):
            continue
        manifest = vdir / "manifest.json"
        if manifest.exists():  # a version without one is an interrupted upload
            out.append(_parse_manifest(storage.read_json(manifest), name, vdir.name))
    return sorted(out, key=lambda v: int(v.version))


def get_version(name: str, version: str | int) -> ModelVersion:
    version = check_version(version)
    manifest = _version_root(name, version) / "manifest.json"
    if not manifest.exists():
        raise MissingModelError(f"model {name!r} has no version {version}",
                                f"pick one of {[v.version for v in list_versions(name)]} or {_how_to_produce(name)}")
    return _parse_manifest(storage.read_json(manifest), name, version)


def aliases(name: str) -> dict[str, str]:
    path = _model_root(name) / "aliases.json"
    if not path.exists():
        return {}
    mapping = storage.read_json(path)
    if not isinstance(mapping, dict) or not set(mapping) <= set(ALIASES):
        raise ManifestError(f"{path} is not an alias map", f"rewrite it as {{alias: version}} with aliases {ALIASES}")
    try:
        return {alias: check_version(v) for alias, v in mapping.items()}
    except InvalidReferenceError as exc:
        raise ManifestError(f"{path} holds an invalid version: {exc.problem}", "rewrite it") from exc


def resolve(ref: str) -> ModelVersion:
    """``"sentiment@champion"`` or ``"sentiment/3"`` → the ModelVersion."""
    if not isinstance(ref, str):
        raise InvalidReferenceError(f"model reference {ref!r} is not a string", "pass 'name@alias' or 'name/3'")
    if "@" in ref:
        name, alias = ref.split("@", 1)
        check_name(name)
        check_alias(alias)
        version = aliases(name).get(alias)
        if version is None:
            raise MissingModelError(f"model {name!r} has no {alias!r} alias yet", _how_to_produce(name, alias))
        return get_version(name, version)
    if "/" in ref:
        name, version = ref.split("/", 1)
        return get_version(check_name(name), check_version(version))
    raise InvalidReferenceError(f"model reference {ref!r} must look like 'name@alias' or 'name/version'",
                                "pass e.g. 'sentiment@champion' or 'sentiment/3'")


# -- writing -------------------------------------------------------------------------------------------
def _local_files(local_dir: Path) -> dict[str, Path]:
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())
    if not files:
        raise RegistryError(f"nothing to register: {local_dir} holds no files")
    rels = {p.relative_to(local_dir).as_posix(): p for p in files}
    unsafe = [rel for rel in rels if rel.lower().endswith(UNSAFE_SUFFIXES)]
    if unsafe:
        raise RegistryError(
            f"refusing pickle-based files {unsafe}: save weights with safetensors "
            "(save_pretrained(safe_serialization=True) or safetensors.torch.save_file)"
        )
    for rel in rels:
        _check_file_key(rel)
    return rels


def register_model(
    name: str,
    local_dir: str | Path,
    *,
    metadata: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    alias: str | None = None,
) -> ModelVersion:
    """Upload every file under ``local_dir`` as the next version of ``name``; optionally set an alias."""
    check_name(name)
    if alias is not None:
        check_alias(alias)
    files = _local_files(Path(local_dir))
    version = _claim_next_version(name)
    vroot = _version_root(name, version)
    hashes: dict[str, str] = {}
    for rel, path in files.items():
        hashes[rel] = sha256_file(path)
        storage.upload_file(path, paths.safe_join(vroot, rel))
    mv = ModelVersion(
        name=name,
        version=version,
        created_at=datetime.now(UTC).isoformat(),
        files=hashes,
        metadata=metadata or {},
        metrics={k: float(v) for k, v in (metrics or {}).items()},
    )
    # The manifest is written last: a version without one is an interrupted upload and is ignored.
    storage.write_json(vroot / "manifest.json", mv.to_dict())
    log.info("Registered %s with metrics %s", mv.ref, mv.metrics)
    if alias:
        set_alias(name, alias, version)
    return mv


def _write_aliases(name: str, mapping: dict[str, str]) -> None:
    # One object write: readers see the old or the new mapping, never a mix.
    storage.write_json(_model_root(name) / "aliases.json", mapping)


def set_alias(name: str, alias: str, version: str | int) -> None:
    check_alias(alias)
    version = get_version(name, version).version  # must exist
    with _model_lock(name):
        mapping = aliases(name)
        mapping[alias] = version
        _write_aliases(name, mapping)
    log.info("Alias %s@%s -> version %s", name, alias, version)


def clear_alias(name: str, alias: str) -> None:
    check_alias(alias)
    with _model_lock(name):
        mapping = aliases(name)
        if mapping.pop(alias, None) is not None:
            _write_aliases(name, mapping)


def promote(name: str, version: str | int) -> dict[str, str]:
    """Make ``version`` the champion in one alias write: champion → previous, version → champion."""
    version = get_version(name, version).version
    with _model_lock(name):
        mapping = aliases(name)
        old = mapping.get("champion")
        if old is not None and old != version:
            mapping["previous"] = old
        mapping["champion"] = version
        if mapping.get("challenger") == version:
            mapping.pop("challenger")
        _write_aliases(name, mapping)
    log.info("Promoted %s/%s to champion (previous: %s)", name, version, old)
    return mapping


def set_status(name: str, version: str | int, status: str, details: dict[str, Any] | None = None) -> ModelVersion:
    """Record an outcome on a version (e.g. ``rejected`` with the canary analysis)."""
    version = check_version(version)
    with _model_lock(name):
        mv = get_version(name, version)
        data = mv.to_dict() | {"status": status, "status_details": details or {}}
        storage.write_json(_version_root(name, version) / "manifest.json", data)
    return ModelVersion(**data)


def download(ref: str, cache_dir: str | Path | None = None) -> tuple[ModelVersion, Path]:
    """Fetch a version into a local cache and verify every file's sha256 before returning it.

    A cached copy is reused only when every hash still matches, so a tampered or truncated file is
    downloaded again; a mismatch straight from the lake raises. Every local path goes through
    ``safe_local_join`` and every temp file is private to this process (pid + uuid), so concurrent
    first downloads of one version each write their own temp file and rename it into place.
    """
    mv = resolve(ref)
    cache_root = Path(cache_dir) if cache_dir else data_dir() / "model_cache"
    dest = paths.safe_local_join(cache_root, mv.name, mv.version)
    vroot = _version_root(mv.name, mv.version)
    for rel, digest in mv.files.items():
        local = paths.safe_local_join(cache_root, mv.name, mv.version, rel)
        if local.is_file() and sha256_file(local) == digest:
            continue
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.{os.getpid()}.{uuid.uuid4().hex}.part")
        try:
            with paths.safe_join(vroot, rel).open("rb") as src, tmp.open("wb") as out:
                shutil.copyfileobj(src, out)
            actual = sha256_file(tmp)
            if actual != digest:
                raise RegistryError(
                    f"checksum mismatch for {mv.ref}:{rel} (expected {digest[:12]}, got {actual[:12]})")
            tmp.replace(local)
        finally:
            tmp.unlink(missing_ok=True)
    return mv, dest
