"""Fan pending work out into the decided number of batches, and process one batch.

The article's ``scalable_generative_ai_workflow`` creates one KubernetesPodOperator per replica in a
loop inside a task (which Airflow never runs). Here the plan is data: ``split`` returns one list of
object URIs per batch, and the DAG maps ``GPUJobOperator`` over it (dynamic task mapping), so
each batch is a task instance in the resized pool.

A request object is a JSON document ``{"id": ..., "prompt": ...}``. Processing here is the
stand-in for batch inference (tokenise and measure the prompt; plug a model call in ``_infer``);
what matters for scaling is that the work really drains: each request is written to
``curated/requests/<date>/batch-<n>.jsonl`` (with the request itself) and removed from the pending
prefix; malformed ones are copied byte for byte to ``quarantine/requests/<date>/`` with their reason
and only then removed. Nothing outside the checked pending prefix is ever deleted.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from include.platform import storage
from include.platform.errors import PathRefused
from include.platform.paths import ensure_under

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+|[^\w\s]")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def split(uris: list[str], batches: int) -> list[list[str]]:
    """Round-robin ``uris`` over ``batches`` lists (no empty batch; [] when there is no work)."""
    if not uris or batches <= 0:
        return []
    n = min(batches, len(uris))
    return [uris[i::n] for i in range(n)]


def _infer(prompt: str) -> dict[str, Any]:
    tokens = _TOKEN.findall(prompt)
    return {"tokens": len(tokens), "characters": len(prompt),
            "device": "cuda" if os.environ.get("CUDA_VISIBLE_DEVICES") else "cpu"}


def _quarantine_key(relative: str) -> list[str]:
    """Lake-safe key parts for a pending object's relative name (odd characters become ``_``)."""
    parts = [_UNSAFE.sub("_", seg) for seg in relative.split("/") if seg]
    return [p if p not in (".", "..") else "_" for p in parts] or ["unnamed"]


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``(request, {})`` or ``(None, where-and-why)`` with a line or byte offset for the quarantine record."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, {"reason": f"not UTF-8: {exc.reason}", "byte_offset": exc.start}
    try:
        request = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, {"reason": f"invalid JSON: {exc.msg}", "line": exc.lineno, "column": exc.colno,
                      "char_offset": exc.pos}
    if not isinstance(request, dict) or not str(request.get("prompt", "")).strip():
        return None, {"reason": "request has no 'prompt'", "line": 1}
    return request, {}


def _owned(root: Any, uri: str) -> Any:
    """The object at ``uri``, proven to lie under the pending prefix ``root`` (else PathRefused)."""
    path = ensure_under(root, storage.path_from_uri(uri, zone_name="raw"))
    if storage.is_symlink(path):
        raise PathRefused(f"{uri} is a symlink", "put request objects themselves under the pending prefix")
    return path


def process(uris: list[str], day: str, batch_index: int,
            prefix: str = "raw/requests/pending") -> dict[str, Any]:
    """Process one batch; idempotent per (day, batch_index) output file; returns counts.

    Deletion is the dangerous half of draining a queue, so it is fenced twice: every URI must lie
    under the checked pending ``prefix`` (inside ``raw/requests/``), and an object is removed only
    after its content is safe elsewhere in the lake — the parsed request inside its output line, or
    a byte-exact copy under ``quarantine/requests/<day>/`` beside a ``.reason.json`` naming the
    line (or byte offset) and reason.
    """
    from include.scaling.metrics import lake_prefix

    root = lake_prefix(prefix)
    paths = [_owned(root, uri) for uri in uris]  # refuse the whole batch before touching any file
    results, quarantined = [], 0
    for uri, path in zip(uris, paths, strict=True):
        if not path.exists():  # already processed by an earlier try of this batch
            continue
        raw = storage.read_bytes(path)
        request, problem = _parse(raw)
        if request is None:
            key = _quarantine_key(path.path[len(root.path.rstrip("/")) + 1:])
            storage.write_bytes(storage.lake_path("quarantine", "requests", day, *key), raw)
            storage.write_json(storage.lake_path("quarantine", "requests", day,
                                                 *key[:-1], f"{key[-1]}.reason.json"),
                               {"source": uri, "bytes": len(raw), **problem})
            path.unlink()
            quarantined += 1
            continue
        results.append({"id": request.get("id", path.stem), "source": uri, "request": request,
                        **_infer(str(request["prompt"]))})
    out = storage.lake_path("curated", "requests", day, f"batch-{batch_index:03d}.jsonl")
    if results:
        previous = storage.read_text(out).splitlines() if out.exists() else []
        seen = {json.loads(line)["source"] for line in previous if line.strip()}
        lines = previous + [json.dumps(r, sort_keys=True) for r in results if r["source"] not in seen]
        storage.write_text(out, "\n".join(lines) + "\n")
        for r in results:  # written above: the request lives on in its output line
            _owned(root, r["source"]).unlink()
    log.info("Batch %d: %d request(s) processed, %d quarantined (CUDA_VISIBLE_DEVICES=%r)", batch_index,
             len(results), quarantined, os.environ.get("CUDA_VISIBLE_DEVICES"))
    return {"batch": batch_index, "processed": len(results), "quarantined": quarantined,
            "output": str(out) if results else None}


def write_requests(prefix_path: Any, count: int, start: int = 0) -> list[str]:
    """Put ``count`` request objects under a pending prefix (demo data and tests)."""
    written = []
    for i in range(start, start + count):
        path = prefix_path / f"request-{i:05d}.json"
        storage.write_json(path, {"id": f"req-{i:05d}", "prompt": f"Summarise customer ticket number {i} in one line."})
        written.append(str(path))
    return written
