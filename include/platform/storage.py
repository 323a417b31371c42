"""The lake: ObjectStoragePath roots for every zone, on local files or any cloud by configuration.

Layout under the lake root (one prefix per zone)::

    raw/         inputs as they arrive (feedback JSONL, feature batches, cost exports, metric traces)
    curated/     validated, published outputs (synthetic sets, normalized tables)
    models/      the model registry (see registry.py)
    reports/     human-readable reports (Markdown + PNG charts), one folder per pipeline and date
    quarantine/  records that failed validation, each with its reason; nothing is silently dropped

The root is Variable ``genai_lake_root`` (default ``file://<project>/data/lake``) and the connection
Variable ``genai_lake_conn_id`` (default none). ``s3://bucket/lake`` + an ``aws`` connection,
``gs://bucket/lake`` + a ``google_cloud_platform`` connection or ``abfs://container/lake`` + a
``wasb``/``adls`` connection switch every pipeline to that cloud; no code changes.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

# gcsfs probes a gRPC endpoint for "hierarchical namespace" buckets on first use; against the GCS
# emulator (and without network) that stalls about 60 s per bucket operation. Must be set before
# gcsfs is imported, which happens lazily inside ObjectStoragePath.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from airflow.sdk import ObjectStoragePath  # noqa: E402

from include.platform.paths import ensure_under, safe_join  # noqa: E402
from include.platform.settings import data_dir, get_setting  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

ZONES = ("raw", "curated", "models", "reports", "quarantine")


def lake_root() -> ObjectStoragePath:
    """The configured lake root as an ObjectStoragePath bound to its connection (if any)."""
    root = get_setting("lake_root") or f"file://{data_dir() / 'lake'}"
    conn_id = get_setting("lake_conn_id") or None
    return _fresh(ObjectStoragePath(root.rstrip("/"), conn_id=conn_id))


def _fresh(path: ObjectStoragePath) -> ObjectStoragePath:
    """Drop fsspec's in-memory directory listings before use.

    s3fs/gcsfs/adlfs cache listings for the life of the process, and Airflow shares one filesystem
    per connection: without this, a process that listed a prefix never sees files another worker
    wrote there later (``exists()`` even returns False on S3/GCS). A no-op on local files.
    """
    path.fs.invalidate_cache()
    return path


def zone(name: str) -> ObjectStoragePath:
    """Root of one lake zone; raises on a typo rather than writing to a stray prefix."""
    if name not in ZONES:
        raise ValueError(f"unknown lake zone {name!r}; expected one of {ZONES}")
    return lake_root() / name


def lake_path(zone_name: str, *parts: str) -> ObjectStoragePath:
    """``lake_path("raw", "feedback", "2026-11-22")`` → ``<root>/raw/feedback/2026-11-22``.

    Every part goes through the path guard (:mod:`include.platform.paths`): ``..``, absolute or
    encoded parts raise ``PathRefused`` and the result is proven to lie inside the zone.
    """
    return safe_join(zone(zone_name), *parts)


def path_from_uri(uri: str, zone_name: str | None = None) -> ObjectStoragePath:
    """Rebuild a path passed through XCom (or a Param) as a URI, bound to the lake connection.

    The path must lie inside the lake (inside ``zone_name`` when given): a URI is data, and data
    must not be able to point a task at any file on the worker.
    """
    path = _fresh(ObjectStoragePath(uri, conn_id=get_setting("lake_conn_id") or None))
    return ensure_under(zone(zone_name) if zone_name else lake_root(), path)


def is_local(path: ObjectStoragePath) -> bool:
    """True for the local-files lake (the embedded default), False for object stores."""
    return path.protocol in ("file", "local", "")


def is_symlink(path: ObjectStoragePath) -> bool:
    """A local symlink may point anywhere on the worker; object stores have none."""
    return is_local(path) and os.path.islink(path.path)


def _ensure_parent(path: ObjectStoragePath) -> None:
    # Object stores have no directories; local files (and Azurite containers) need the parent.
    if is_local(path) or path.protocol.startswith("abfs"):
        path.parent.mkdir(parents=True, exist_ok=True)


def write_bytes(path: ObjectStoragePath, data: bytes) -> ObjectStoragePath:
    """Write ``data`` so that readers never see a half-written file.

    Object-store PUTs are atomic already; on local files we write a sibling temp file and rename it.
    """
    _ensure_parent(path)
    if is_local(path):
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        with tmp.open("wb") as fh:
            fh.write(data)
        os.replace(tmp.path, path.path)
    else:
        with path.open("wb") as fh:
            fh.write(data)
    return path


def create_exclusive(path: ObjectStoragePath, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; return False when it already does.

    Local: the bytes go to a private temp file that is hard-linked into place, so the object is
    never visible half-written (``O_EXCL`` then write where the filesystem has no hard links).
    Object stores: the backend's conditional create (``open(..., "xb")``: If-None-Match on S3/ADLS,
    ifGenerationMatch=0 on GCS). The registry claims version numbers and leases with it, the
    notifier its once-per-day alert markers.
    """
    if not is_local(path):
        if path.protocol.startswith("abfs"):
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("xb") as fh:
                fh.write(data)
        except FileExistsError:
            return False
        except OSError as exc:
            # S3 answers 409 ConditionalRequestConflict to a racing conditional PUT: the same as "taken".
            if "ConditionalRequestConflict" in f"{exc} {exc.__context__}":
                return False
            raise
        return True
    target = Path(path.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some FUSE/SMB mounts): O_EXCL, content follows
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def read_bytes(path: ObjectStoragePath) -> bytes:
    with path.open("rb") as fh:
        return fh.read()


def write_text(path: ObjectStoragePath, text: str) -> ObjectStoragePath:
    return write_bytes(path, text.encode("utf-8"))


def read_text(path: ObjectStoragePath) -> str:
    return read_bytes(path).decode("utf-8")


def write_json(path: ObjectStoragePath, obj: Any) -> ObjectStoragePath:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str))


def read_json(path: ObjectStoragePath) -> Any:
    return json.loads(read_text(path))


def write_parquet(path: ObjectStoragePath, frame: pd.DataFrame) -> ObjectStoragePath:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return write_bytes(path, buf.getvalue())


def read_parquet(path: ObjectStoragePath) -> pd.DataFrame:
    import pandas as pd

    return pd.read_parquet(io.BytesIO(read_bytes(path)))


def list_files(path: ObjectStoragePath, suffix: str = "") -> list[ObjectStoragePath]:
    """Files directly under ``path`` ending with ``suffix``, sorted by name; [] if it does not exist."""
    path.fs.invalidate_cache(path.path)
    if not path.exists():
        return []
    return sorted(
        (p for p in path.iterdir() if p.is_file() and p.name.endswith(suffix) and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def read_files(path: ObjectStoragePath, suffix: str = "") -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of :func:`list_files`: what the line readers (``include.platform.lines``) take."""
    return [(p.name, read_bytes(p)) for p in list_files(path, suffix)]


def upload_file(local_path: str | os.PathLike[str], dest: ObjectStoragePath) -> ObjectStoragePath:
    """Copy a local file (a chart, a model weight) into the lake."""
    with open(local_path, "rb") as fh:
        return write_bytes(dest, fh.read())


def find_files(path: ObjectStoragePath, suffix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every file below ``path`` (any depth) ending with ``suffix``: ``(key relative to path, fsspec info)``.

    One recursive listing (``fs.find``: a single paginated LIST on object stores) instead of walking
    folder by folder; hidden names (our ``.x.tmp`` writes in progress) are left out. [] if absent.
    """
    path.fs.invalidate_cache(path.path)
    base = path.path.rstrip("/")
    try:
        found = path.fs.find(base, detail=True)
    except FileNotFoundError:
        return []
    out = []
    for key, info in found.items():
        rel = key[len(base):].lstrip("/") if key.startswith(base) else ""
        if not rel or info.get("type") == "directory" or not rel.endswith(suffix):
            continue
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        out.append((rel, info))
    return sorted(out)
