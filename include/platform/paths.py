"""The one path guard: every lake key and local cache path built from outside input goes through here.

Params, manifests and input data name files (a prefix to scan, a model name, a manifest's file
keys). Joined naively, ``..``, an absolute part or an encoded ``%2e%2e`` walks out of the lake or the
model cache — the autoscaling batcher then quarantined and *deleted* what it found there. So:

* :func:`clean_parts` checks each part: relative, no ``.``/``..`` segments, no backslash, NUL or
  control characters, no drive/scheme colon, nothing that percent-decodes to a separator or ``..``;
* :func:`ensure_under` proves the joined result still lies under its root (string prefix on the
  normalised path) and that no segment hides ``..`` or a separator in (repeated) percent-encoding,
  so a URI passed through XCom gets the same scrutiny as a part;
* :func:`safe_local_join` (local cache folders) also follows symlinks (``resolve()``) before the check.

Both raise :class:`~include.platform.errors.PathRefused`, a permanent failure: a retry cannot make
a bad path good.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from include.platform.errors import PathRefused

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_PART_CHARS = 512


def _check_segment(segment: str, original: str) -> None:
    if segment in ("", ".", ".."):
        raise PathRefused(f"path {original!r} has an empty, '.' or '..' segment",
                          "name files and folders relative to their root, without '..'")
    if "\\" in segment or ":" in segment or _CONTROL.search(segment):
        raise PathRefused(f"path {original!r} holds a backslash, colon or control character",
                          "use plain names (letters, digits, '-', '_', '.') separated by '/'")
    _check_encoded(segment, original)


def _check_encoded(segment: str, original: str) -> None:
    """Refuse a separator or dot-segment hidden behind one or more rounds of percent-encoding.

    Nothing here decodes keys, but a later tool might (a URL, a console, a sync job): ``%2e%2e`` or
    ``%252e%252e`` must not become ``..`` there.
    """
    decoded = segment
    for _ in range(3):
        previous, decoded = decoded, unquote(decoded)
        if decoded == previous:
            return
        if "/" in decoded or "\\" in decoded or decoded in (".", "..") or _CONTROL.search(decoded):
            raise PathRefused(f"path {original!r} hides a separator, '..' or control character in percent-encoding",
                              "pass the plain, unencoded relative name")


def clean_parts(*parts: str | int) -> list[str]:
    """Validate relative path parts (each may hold ``/``-separated segments); return the segments.

    A trailing ``/`` is tolerated (``"raw/requests/pending/"``); a leading one is an absolute path
    and is refused, as is anything that could step out of the root it is joined to.
    """
    segments: list[str] = []
    for part in parts:
        text = str(part)
        if len(text) > MAX_PART_CHARS:
            raise PathRefused(f"path part of {len(text)} characters is too long", f"keep it under {MAX_PART_CHARS}")
        if text.startswith("/") or text.startswith("~"):
            raise PathRefused(f"absolute path {text!r} refused", "give a path relative to its root")
        stripped = text.rstrip("/")
        if not stripped:
            raise PathRefused(f"empty path part {text!r}", "give a non-empty relative name")
        for segment in stripped.split("/"):
            _check_segment(segment, text)
        segments.extend(stripped.split("/"))
    return segments


def ensure_under(root: ObjectStoragePath, path: ObjectStoragePath) -> ObjectStoragePath:
    """Raise unless ``path`` is ``root`` or lies below it (same filesystem, normalised keys)."""
    if root.protocol != path.protocol:
        raise PathRefused(f"{path} is not on the lake's filesystem ({root.protocol}://)",
                          "use a path inside the configured lake")
    base = posixpath.normpath(root.path)
    target = posixpath.normpath(path.path)
    if target != base and not target.startswith(base.rstrip("/") + "/"):
        raise PathRefused(f"{path} lies outside {root}", "use a path inside the lake root")
    for segment in target[len(base):].split("/"):  # a URI may carry what clean_parts refuses in a part
        _check_encoded(segment, str(path))
    return path


def safe_join(root: ObjectStoragePath, *parts: str | int) -> ObjectStoragePath:
    """``root / parts`` after :func:`clean_parts`, proven to stay under ``root``."""
    path = root
    for segment in clean_parts(*parts):
        path = path / segment
    return ensure_under(root, path)


def safe_local_join(root: str | Path, *parts: str | int) -> Path:
    """A local path under ``root`` (a cache folder); symlinks are resolved before the check."""
    base = Path(root).resolve()
    target = base.joinpath(*clean_parts(*parts)).resolve()
    if target != base and not target.is_relative_to(base):
        raise PathRefused(f"{target} lies outside {base}", "use a path inside the cache folder")
    return target
