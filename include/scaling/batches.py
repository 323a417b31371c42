"""batch_inference's steps: plan the pending requests into batches, score each with the real sentiment model, record.

The article's ``scalable_generative_ai_workflow`` creates one KubernetesPodOperator per replica in a
loop inside a task (which Airflow never runs). Here the plan is data: :func:`plan` returns one
``op_kwargs`` per batch and the DAG maps ``GPUJobOperator`` over it (dynamic task mapping) in pool
``inference``, whose slots ``autoscaling_monitor`` sizes — so the autoscaler's decision is how many
batches run at once.

A request object is a JSON document ``{"id": ..., "text": ...}`` (``prompt`` is read as well) under
the checked pending prefix. :func:`infer_batch` scores a batch with ``sentiment@champion`` through
include/sentiment's own loading and classification code (length-sorted batches, inference mode,
CUDA when ``GPUJobOperator`` pinned a GPU, CPU otherwise) and writes one row per request — with the
request's text, the prediction, the device and the item's latency — to
``curated/batch_inference/runs/<run>/batch-<n>.parquet``. Only then is the request removed from the
pending prefix; malformed ones are copied byte for byte to ``quarantine/requests/<date>/`` with
their reason and only then removed. Nothing outside the checked pending prefix is ever deleted.
:func:`record` loads the batches into warehouse tables ``batch_predictions`` (one row per request)
and ``batch_inference_runs`` (latency p50/p95, items/s, device, cost per item).

**Latency of an item** = the wall time of the forward pass that produced it (tokenise, forward,
softmax, copy back): what a caller waiting on that item would wait once the model is loaded.
**Cost per item** = the worker's hourly price (``cpu_hour_usd`` / ``gpu_hour_usd`` by the device the
batch ran on) × forward-pass seconds / items; ``cost_usd`` of a run adds the model loading.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.platform import storage
from include.platform.errors import PathRefused
from include.platform.paths import ensure_under
from include.platform.runs import run_path
from include.scaling.metrics import lake_prefix

if TYPE_CHECKING:
    from include.scaling.config import BatchInferenceConfig

log = logging.getLogger(__name__)

PIPELINE = "batch_inference"
PREDICTIONS_TABLE = "batch_predictions"
RUNS_TABLE = "batch_inference_runs"

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def chunks(uris: Sequence[str], size: int) -> list[list[str]]:
    """Consecutive batches of at most ``size`` URIs (no empty batch; [] when there is no work)."""
    if size <= 0:
        raise ValueError("batch size must be > 0")
    return [list(uris[i:i + size]) for i in range(0, len(uris), size)]


def plan(cfg: BatchInferenceConfig, day: date, run_id: str) -> list[dict[str, Any]]:
    """Step 1: the pending requests (at most ``max_items``) as one ``op_kwargs`` per mapped batch.

    Skips the run when nothing is pending: no batch, no model loaded, nothing recorded or spent.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from include.scaling.metrics import list_pending

    uris = list_pending(cfg.pending_prefix, limit=cfg.max_items)
    if not uris:
        raise AirflowSkipException(f"no pending requests under {cfg.pending_prefix}")
    batches = chunks(uris, cfg.items_per_batch)
    log.info("%d pending request(s) -> %d batch(es) of at most %d", len(uris), len(batches), cfg.items_per_batch)
    return [{"uris": b, "day": day.isoformat(), "batch_index": i, "run_id": run_id, "cfg": cfg.as_dict()}
            for i, b in enumerate(batches)]


def _quarantine_key(relative: str) -> list[str]:
    """Lake-safe key parts for a pending object's relative name (odd characters become ``_``)."""
    parts = [_UNSAFE.sub("_", seg) for seg in relative.split("/") if seg]
    return [p if p not in (".", "..") else "_" for p in parts] or ["unnamed"]


def _text(request: Mapping[str, Any]) -> str:
    return str(request.get("text") or request.get("prompt") or "")


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
    if not isinstance(request, dict) or not _text(request).strip():
        return None, {"reason": "request has no 'text' (or 'prompt')", "line": 1}
    return request, {}


def _owned(root: Any, uri: str) -> Any:
    """The object at ``uri``, proven to lie under the pending prefix ``root`` (else PathRefused)."""
    path = ensure_under(root, storage.path_from_uri(uri, zone_name="raw"))
    if storage.is_symlink(path):
        raise PathRefused(f"{uri} is a symlink", "put request objects themselves under the pending prefix")
    return path


def claim(uris: Sequence[str], day: str, prefix: str) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """``([(uri, request), ...], quarantined)``: the batch's readable requests; malformed ones quarantined.

    Every URI must lie under the checked pending ``prefix`` (inside ``raw/requests/``): the whole
    batch is refused before any file is touched otherwise. Objects already gone (an earlier try of
    this batch processed them) are passed over. A malformed request is copied byte for byte under
    ``quarantine/requests/<day>/`` beside a ``.reason.json`` naming the line (or byte offset) and
    reason, and only then removed.
    """
    root = lake_prefix(prefix)
    paths = [_owned(root, uri) for uri in uris]  # refuse the whole batch before touching any file
    requests, quarantined = [], 0
    for uri, path in zip(uris, paths, strict=True):
        if not path.exists():
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
        requests.append((uri, request))
    return requests, quarantined


def _load(cfg: BatchInferenceConfig) -> Any:
    """sentiment's classifier for ``cfg.model`` (registry-verified), on the device this process may use."""
    from include.sentiment import inference
    from include.sentiment.modeling import pick_device, resolve_source, set_threads

    set_threads(cfg.threads or None)
    source = resolve_source(cfg.model)
    metrics: dict[str, float] = {}
    if source.origin == "registry":
        from include.platform import registry

        metrics = registry.resolve(cfg.model).metrics
    source, runtime, precision = inference.resolve_serving(source, metrics, cfg.runtime, cfg.precision,
                                                           pick_device("auto"))
    return inference.load_classifier(source, precision=precision, device="auto", runtime=runtime)


def item_latencies(batch_seconds: Sequence[float], order: Sequence[int], batch_size: int) -> list[float]:
    """Per item (input order): the seconds of the forward pass that scored it (``order`` = scoring order)."""
    out = [0.0] * len(order)
    for b, seconds in enumerate(batch_seconds):
        for i in order[b * batch_size:(b + 1) * batch_size]:
            out[int(i)] = float(seconds)
    return out


def _device_name(device: str) -> str:
    if not device.startswith("cuda"):
        return "cpu"
    import torch

    return f"cuda:{torch.cuda.get_device_name(0)}"


def infer_batch(uris: list[str], day: str, batch_index: int, run_id: str,
                cfg: Mapping[str, Any] | BatchInferenceConfig) -> dict[str, Any]:
    """Step 2 (inside ``GPUJobOperator``, CUDA_VISIBLE_DEVICES pinned or empty): score one batch.

    Idempotent per (run, batch): a retry keeps the rows an earlier try wrote and scores only the
    requests still pending.
    """
    import numpy as np

    from include.scaling.config import BatchInferenceConfig
    from include.sentiment import LABELS, inference
    from include.sentiment.clean import normalize_text

    if not isinstance(cfg, BatchInferenceConfig):
        cfg = BatchInferenceConfig(**cfg)
    requests, quarantined = claim(uris, day, cfg.pending_prefix)
    out = run_path("curated", PIPELINE, run_id, f"batch-{batch_index:03d}.parquet")
    result: dict[str, Any] = {"batch": batch_index, "items": 0, "quarantined": quarantined,
                              "output": str(out) if out.exists() else None, "load_s": 0.0, "infer_s": 0.0,
                              "device": None, "precision": None, "model_version": None}
    if not requests:
        log.info("Batch %d: nothing left to score, %d quarantined", batch_index, quarantined)
        return result
    started = time.perf_counter()
    clf = _load(cfg)
    load_s = time.perf_counter() - started
    texts = [normalize_text(_text(r)) for _, r in requests]
    scored = inference.classify(clf, texts, batch_size=cfg.model_batch_size)
    order = np.argsort(-np.asarray(inference.token_lengths(clf.tokenizer, texts, clf.max_length)), kind="stable")
    latencies = item_latencies(scored.batch_seconds, order, cfg.model_batch_size)
    device = _device_name(clf.device)
    frame = pd.DataFrame({
        "request_id": [str(r.get("id") or storage.path_from_uri(u, zone_name="raw").stem) for u, r in requests],
        "source": [u for u, _ in requests], "text": texts, "label": scored.labels,
        "score": scored.scores.astype("float64"),
        **{f"p_{label}": scored.probs[:, i].astype("float64") for i, label in enumerate(LABELS)},
        "latency_ms": [round(s * 1000.0, 3) for s in latencies], "batch_index": batch_index,
        "device": device, "precision": clf.precision, "model_version": clf.version,
    })
    if out.exists():  # an earlier try of this batch: keep its rows (their requests are gone by now)
        previous = storage.read_parquet(out)
        frame = pd.concat([previous[~previous["source"].isin(frame["source"])], frame], ignore_index=True)
    storage.write_parquet(out, frame)
    root = lake_prefix(cfg.pending_prefix)
    for uri, _ in requests:  # written above: the request lives on in its prediction row
        _owned(root, uri).unlink()
    infer_s = float(sum(scored.batch_seconds))
    log.info("Batch %d: %d request(s) scored on %s in %.2fs (%.1f items/s, model load %.2fs), %d quarantined",
             batch_index, len(requests), device, infer_s, len(requests) / max(infer_s, 1e-9), load_s, quarantined)
    return {**result, "items": len(requests), "output": str(out), "load_s": round(load_s, 4),
            "infer_s": round(infer_s, 4), "device": device, "precision": clf.precision,
            "model_version": clf.version}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank ``q`` percentile (0-100) of ``values`` (numpy's ``inverted_cdf``); None when empty."""
    import numpy as np

    return float(np.percentile(values, q, method="inverted_cdf")) if len(values) else None


def run_stats(predictions: pd.DataFrame, batches: Sequence[Mapping[str, Any]],
              cfg: BatchInferenceConfig) -> dict[str, Any]:
    """The run's figures: items, latency p50/p95, items/s, device(s), cost (see the module docstring)."""
    scored = [b for b in batches if b.get("items")]
    infer_s = sum(float(b["infer_s"]) for b in scored)
    load_s = sum(float(b["load_s"]) for b in scored)
    items = int(len(predictions))
    infer_cost = sum(cfg.hour_usd(str(b["device"])) * float(b["infer_s"]) / 3600.0 for b in scored)
    load_cost = sum(cfg.hour_usd(str(b["device"])) * float(b["load_s"]) / 3600.0 for b in scored)
    latencies = predictions["latency_ms"].astype(float).tolist() if items else []
    devices = sorted({str(b["device"]) for b in scored})
    return {
        "items": items, "batches": len(batches), "quarantined": int(sum(int(b.get("quarantined", 0)) for b in batches)),
        "device": ",".join(devices) or "none",
        "model_version": ",".join(sorted({str(b["model_version"]) for b in scored})) or None,
        "precision": ",".join(sorted({str(b["precision"]) for b in scored})) or None,
        "latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
        "items_per_s": round(items / infer_s, 2) if infer_s > 0 else None,
        "infer_s": round(infer_s, 4), "load_s": round(load_s, 4),
        "cost_usd": round(infer_cost + load_cost, 10),
        "cost_per_item_usd": (infer_cost / items) if items else None,
    }


def record(cfg: BatchInferenceConfig, results: Sequence[Mapping[str, Any]], day: date, run_id: str,
           context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Step 3: predictions -> ``batch_predictions``, run figures -> ``batch_inference_runs``, ``compute_spent``.

    ``results`` are what the mapped ``GPUJobOperator`` returned (its own placement around our batch
    result). Keyed by ``request_id`` / ``run_id``, so a rerun replaces its rows instead of adding them.
    """
    from include.platform import warehouse

    batches = [dict(r.get("result") or {}) if "result" in r else dict(r) for r in results]
    frames = [storage.read_parquet(storage.path_from_uri(b["output"], zone_name="curated"))
              for b in batches if b.get("output")]
    predictions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    stats = run_stats(predictions, batches, cfg)
    now = pd.Timestamp(datetime.now(UTC))
    if len(predictions):
        rows = predictions.drop(columns=["source"]).assign(run_id=run_id, day=day.isoformat(), predicted_at=now)
        warehouse.replace_rows(PREDICTIONS_TABLE, rows, ["request_id"])
    run_row = pd.DataFrame([{"run_id": run_id, "day": day.isoformat(), "recorded_at": now,
                             "items_per_batch": cfg.items_per_batch, "model_batch_size": cfg.model_batch_size,
                             "hour_usd": cfg.hour_usd(stats["device"]), **stats}])
    warehouse.replace_rows(RUNS_TABLE, run_row, ["run_id"])
    log.info("batch_inference %s: %s", run_id, json.dumps(stats, default=str))
    if context is not None and context.get("outlet_events") is not None:
        from include.platform import assets, compute

        compute.emit(dict(context), assets.COMPUTE_SPENT, device=stats["device"],
                     steps_s={"model_load": stats["load_s"], "inference": stats["infer_s"]},
                     items=stats["items"], cost_usd=stats["cost_usd"],
                     cost_per_item_usd=stats["cost_per_item_usd"])
    return stats


def write_requests(prefix_path: Any, count: int, start: int = 0, seed: int = 11,
                   overwrite: bool = True) -> list[str]:
    """Put ``count`` request objects under a pending prefix: the producer of asset ``pending_requests``.

    The texts are customer messages of the demo domain (the sentiment labeled set's generator), so
    the sentiment model has something real to classify. seed_demo_data (``overwrite=False``: a
    request still pending, or a real one of the same name, is left alone: one conditional create,
    no check-then-write race) and tests call this. Returns the URIs written.
    """
    from include.sentiment.labeled_set import labeled_examples

    written = []
    examples = labeled_examples(start + count, seed=seed)[start:]
    for i, (text, _label) in enumerate(examples, start=start):
        path = prefix_path / f"request-{i:05d}.json"
        request = {"id": f"req-{i:05d}", "text": text}
        if overwrite:
            storage.write_json(path, request)
        elif not storage.create_exclusive(path, json.dumps(request, indent=2, sort_keys=True).encode("utf-8")):
            continue
        written.append(str(path))
    return written
