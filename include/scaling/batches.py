"""Fan pending work out into the decided number of batches, and process one batch.

The article's ``scalable_generative_ai_workflow`` creates one KubernetesPodOperator per replica in a
loop inside a task (which Airflow never runs). Here the plan is data: ``split`` returns one list of
object URIs per batch, and the DAG maps ``GPUJobOperator`` over it (dynamic task mapping), so
each batch is a task instance in the resized pool.

A request object is a JSON document ``{"id": ..., "prompt": ...}``. Processing here is the
stand-in for batch inference (tokenise and measure the prompt; plug a model call in ``_infer``);
what matters for scaling is that the work really drains: each request is written to
``curated/requests/<date>/batch-<n>.jsonl`` and removed from the pending prefix, malformed ones go
to ``quarantine/requests/<date>/`` with their reason.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from include.platform import storage

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+|[^\w\s]")


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


def process(uris: list[str], day: str, batch_index: int) -> dict[str, Any]:
    """Process one batch; idempotent per (day, batch_index) output file; returns counts."""
    results, quarantined = [], 0
    for uri in uris:
        path = storage.path_from_uri(uri)
        if not path.exists():  # already processed by an earlier try of this batch
            continue
        raw = storage.read_text(path)
        try:
            request = json.loads(raw)
            if not isinstance(request, dict) or not str(request.get("prompt", "")).strip():
                raise ValueError("request has no 'prompt'")
        except (json.JSONDecodeError, ValueError) as exc:
            storage.write_json(storage.lake_path("quarantine", "requests", day, f"{path.name}.json"),
                               {"source": uri, "reason": str(exc), "raw": raw[:2000]})
            path.unlink()
            quarantined += 1
            continue
        results.append({"id": request.get("id", path.stem), "source": uri, **_infer(str(request["prompt"]))})
    out = storage.lake_path("curated", "requests", day, f"batch-{batch_index:03d}.jsonl")
    if results:
        previous = storage.read_text(out).splitlines() if out.exists() else []
        seen = {json.loads(line)["source"] for line in previous if line.strip()}
        lines = previous + [json.dumps(r, sort_keys=True) for r in results if r["source"] not in seen]
        storage.write_text(out, "\n".join(lines) + "\n")
        for r in results:
            storage.path_from_uri(r["source"]).unlink()
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
