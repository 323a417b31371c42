"""Which objects under a lake prefix are new since the last look: the logic behind the lake watcher.

The trigger (``genai_airflow.lake.triggers.LakePrefixTrigger``) runs in the triggerer and turns each
new object into an asset event; everything it decides is here, as plain functions, so it is tested
without a triggerer and works the same on every backend ObjectStoragePath speaks (local files, s3,
gs, abfs): listing goes through fsspec's ``find(detail=True)``, which all of them implement.

**What counts as new.** An object is identified by its key (path relative to the watched prefix)
and fingerprinted by what the store says about its content: the ETag on S3/GCS/Azure when there is
one, else modification time and size. A key never seen, or seen with another fingerprint (the
file was replaced), is new. Hidden names (``.x``, and our own atomic-write temp files
``.name.<uuid>.tmp``) are ignored, so a half-written local file never fires.

**Remembering.** ``seen`` is the map key → fingerprint of the last listing. It is pruned to what
currently exists, so it stays as large as the prefix, not as its history. The trigger keeps it in
Airflow's asset state store when the triggerer provides one (it does for watchers), so a restart
fires for what arrived while it was down and never for what it already reported; with no stored
state (first deploy) the current content is the baseline, not a flood of events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from include.platform import storage


@dataclass(frozen=True)
class LakeObject:
    """One object under the watched prefix, as an asset event's payload describes it."""

    key: str
    uri: str
    fingerprint: str
    size: int | None

    def payload(self) -> dict[str, Any]:
        return {"key": self.key, "uri": self.uri, "fingerprint": self.fingerprint, "size": self.size}


def poll_interval_s() -> float:
    """Seconds between two listings: Variable ``genai_lake_watch_poll_s``, default 60 (one LIST per minute
    per watched prefix costs next to nothing on any object store)."""
    from include.platform.settings import setting

    value = float(setting("lake_watch_poll_s", "60"))
    if value <= 0:
        raise ValueError(f"genai_lake_watch_poll_s must be > 0 seconds, got {value}")
    return value


def watched_prefix(zone: str, parts: list[str] | tuple[str, ...]) -> storage.ObjectStoragePath:
    """The lake prefix to watch, through the path guard (zone checked, no ``..`` escapes)."""
    return storage.lake_path(zone, *parts)


def fingerprint(info: dict[str, Any]) -> str:
    """ETag when the store gives one (content identity), else ``mtime:size`` (local files, some stores)."""
    for key in ("ETag", "etag", "md5_hash", "content_md5"):
        value = info.get(key)
        if value:
            return f"etag:{str(value).strip(chr(34))}"
    mtime = info.get("mtime") or info.get("LastModified") or info.get("last_modified") or info.get("updated") \
        or info.get("created")
    if hasattr(mtime, "timestamp"):
        mtime = mtime.timestamp()
    return f"mtime:{mtime}:{info.get('size')}"


def _visible(key: str) -> bool:
    return not any(part.startswith(".") for part in key.split("/"))


def list_objects(prefix: storage.ObjectStoragePath) -> dict[str, LakeObject]:
    """Every visible object under ``prefix`` (recursively), by key relative to it; {} if it is absent."""
    fs = prefix.fs
    fs.invalidate_cache()  # another process wrote there; fsspec's listing cache would hide it
    root = prefix.path.rstrip("/")
    try:
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        return {}
    objects = {}
    for path, info in found.items():
        if info.get("type", "file") != "file":
            continue
        key = path[len(root):].lstrip("/") if path.startswith(root) else path.rsplit("/", 1)[-1]
        if key and _visible(key):
            uri = f"{prefix.protocol}://{path}" if prefix.protocol not in ("file", "local", "") else f"file://{path}"
            objects[key] = LakeObject(key=key, uri=uri, fingerprint=fingerprint(info), size=info.get("size"))
    return objects


def diff(seen: dict[str, str], current: dict[str, LakeObject]) -> list[LakeObject]:
    """Objects whose key is new or whose fingerprint changed since ``seen``, in key order."""
    return [obj for key, obj in sorted(current.items()) if seen.get(key) != obj.fingerprint]


def remember(current: dict[str, LakeObject]) -> dict[str, str]:
    """The ``seen`` map after a listing: exactly what exists now (vanished keys drop out)."""
    return {key: obj.fingerprint for key, obj in current.items()}


def arrived_day(context: dict[str, Any]) -> date | None:
    """The day folder of the newest lake arrival that triggered this run, if a watcher triggered it.

    A lake watcher's event carries ``{"from_trigger": True, "payload": {"key": "2026-11-22/batch.parquet"}}``;
    a run started by it must process *that* day's batch, not the day the scheduler happened to run it.
    Events from task outlets (no payload) or keys without a leading ``YYYY-MM-DD/`` give None.
    """
    days = []
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in events:
            key = ((getattr(event, "extra", None) or {}).get("payload") or {}).get("key") or ""
            try:
                days.append(date.fromisoformat(key.split("/", 1)[0]))
            except ValueError:
                continue
    return max(days) if days else None
