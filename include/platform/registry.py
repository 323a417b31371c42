"""Model registry in the lake: immutable versions with metadata and metrics, and movable aliases.

Layout under ``<lake>/models/<name>/``::

    versions/<n>/manifest.json   name, version, created_at, sha256 of every file, metadata, metrics, status
    versions/<n>/<files>         the artifact (safetensors weights, configs, tokenizer files)
    aliases.json                 {"champion": "3", "previous": "2", "challenger": "4"}

Why not MLflow: its ``file://`` backend refuses to run in mlflow 3.x and a ``sqlite:///`` backend is
one file on one machine, which Celery workers on other hosts cannot share. The lake already works on
local disk, S3, GCS and ADLS through one connection, so the registry moves to a cloud with the lake.
Aliases follow MLflow's current model (``name@champion``), not the deprecated stages.

Safety: only non-executable formats are accepted (safetensors, JSON, text, tokenizer files);
pickles (``.pkl``, ``.pt``, ``.bin``, ``.joblib``) are refused on register, and every file's sha256
is verified when a version is downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from include.platform import storage
from include.platform.settings import data_dir

log = logging.getLogger(__name__)

ALIASES = ("champion", "challenger", "previous")
UNSAFE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt", ".h5")


class RegistryError(RuntimeError):
    """Raised with a message that says what is missing or wrong in the registry."""


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


def _model_root(name: str) -> storage.ObjectStoragePath:
    if not name or "/" in name or "@" in name:
        raise RegistryError(f"invalid model name {name!r}")
    return storage.lake_path("models", name)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_versions(name: str) -> list[ModelVersion]:
    root = _model_root(name) / "versions"
    if not root.exists():
        return []
    out = []
    for vdir in root.iterdir():
        manifest = vdir / "manifest.json"
        if manifest.exists():
            out.append(ModelVersion(**storage.read_json(manifest)))
    return sorted(out, key=lambda v: int(v.version))


def get_version(name: str, version: str | int) -> ModelVersion:
    manifest = _model_root(name) / "versions" / str(version) / "manifest.json"
    if not manifest.exists():
        raise RegistryError(f"model {name!r} has no version {version}")
    return ModelVersion(**storage.read_json(manifest))


def register_model(
    name: str,
    local_dir: str | Path,
    *,
    metadata: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    alias: str | None = None,
) -> ModelVersion:
    """Upload every file under ``local_dir`` as the next version of ``name``; optionally set an alias."""
    local_dir = Path(local_dir)
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())
    if not files:
        raise RegistryError(f"nothing to register: {local_dir} holds no files")
    unsafe = [str(p.relative_to(local_dir)) for p in files if p.suffix.lower() in UNSAFE_SUFFIXES]
    if unsafe:
        raise RegistryError(
            f"refusing pickle-based files {unsafe}: save weights with safetensors "
            "(save_pretrained(safe_serialization=True) or safetensors.torch.save_file)"
        )
    existing = [int(v.version) for v in list_versions(name)]
    version = str(max(existing, default=0) + 1)
    vroot = _model_root(name) / "versions" / version
    hashes: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(local_dir).as_posix()
        hashes[rel] = _sha256_file(path)
        storage.upload_file(path, vroot / rel)
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


def aliases(name: str) -> dict[str, str]:
    path = _model_root(name) / "aliases.json"
    return storage.read_json(path) if path.exists() else {}


def _write_aliases(name: str, mapping: dict[str, str]) -> None:
    # One object write: readers see the old or the new mapping, never a mix.
    storage.write_json(_model_root(name) / "aliases.json", mapping)


def set_alias(name: str, alias: str, version: str | int) -> None:
    if alias not in ALIASES:
        raise RegistryError(f"unknown alias {alias!r}; expected one of {ALIASES}")
    get_version(name, version)  # must exist
    mapping = aliases(name)
    mapping[alias] = str(version)
    _write_aliases(name, mapping)
    log.info("Alias %s@%s -> version %s", name, alias, version)


def clear_alias(name: str, alias: str) -> None:
    mapping = aliases(name)
    if mapping.pop(alias, None) is not None:
        _write_aliases(name, mapping)


def resolve(ref: str) -> ModelVersion:
    """``"sentiment@champion"`` or ``"sentiment/3"`` → the ModelVersion."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        version = aliases(name).get(alias)
        if version is None:
            raise RegistryError(
                f"model {name!r} has no {alias!r} alias yet: run the DAG that trains and registers it first"
            )
        return get_version(name, version)
    if "/" in ref:
        name, version = ref.split("/", 1)
        return get_version(name, version)
    raise RegistryError(f"model reference {ref!r} must look like 'name@alias' or 'name/version'")


def promote(name: str, version: str | int) -> dict[str, str]:
    """Make ``version`` the champion in one alias write: champion → previous, version → champion."""
    get_version(name, version)
    mapping = aliases(name)
    old = mapping.get("champion")
    if old is not None and old != str(version):
        mapping["previous"] = old
    mapping["champion"] = str(version)
    if mapping.get("challenger") == str(version):
        mapping.pop("challenger")
    _write_aliases(name, mapping)
    log.info("Promoted %s/%s to champion (previous: %s)", name, version, old)
    return mapping


def set_status(name: str, version: str | int, status: str, details: dict[str, Any] | None = None) -> ModelVersion:
    """Record an outcome on a version (e.g. ``rejected`` with the canary analysis)."""
    mv = get_version(name, version)
    data = mv.to_dict() | {"status": status, "status_details": details or {}}
    storage.write_json(_model_root(name) / "versions" / str(version) / "manifest.json", data)
    return ModelVersion(**data)


def download(ref: str, cache_dir: str | Path | None = None) -> tuple[ModelVersion, Path]:
    """Fetch a version into a local cache and verify every file's sha256 before returning it.

    A cached copy is reused only when every hash still matches, so a tampered or truncated file is
    downloaded again; a mismatch straight from the lake raises.
    """
    mv = resolve(ref)
    dest = Path(cache_dir or data_dir() / "model_cache") / mv.name / mv.version
    vroot = _model_root(mv.name) / "versions" / mv.version
    for rel, digest in mv.files.items():
        local = dest / rel
        if local.exists() and _sha256_file(local) == digest:
            continue
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_suffix(local.suffix + ".part")
        with (vroot / rel).open("rb") as src, tmp.open("wb") as out:
            shutil.copyfileobj(src, out)
        actual = _sha256_file(tmp)
        if actual != digest:
            tmp.unlink(missing_ok=True)
            raise RegistryError(f"checksum mismatch for {mv.ref}:{rel} (expected {digest[:12]}, got {actual[:12]})")
        tmp.replace(local)
    return mv, dest
