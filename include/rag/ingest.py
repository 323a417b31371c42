"""One source: list its files in the lake → diff by content → extract, chunk, embed what changed → upsert.

* **Unchanged** documents (same bytes, same chunking and model — for a hosted model its connection and model
  name: the *fingerprint*) are skipped before they are even parsed: a re-ingest embeds nothing (and sends no
  request to a hosted model).
* **Changed** documents replace their own chunks (delete by document, insert, one transaction); chunk
  texts already embedded with the same model anywhere in the store reuse their vectors (an edit to one
  paragraph re-embeds that paragraph's chunks only).
* **Deleted** documents (in the store, gone from the lake) lose their chunks.
* **Unreadable** files (unsupported type, binary, not UTF-8, empty, too large, a symlink) go to
  ``quarantine/ingest_knowledge_base/<day>/<source>.jsonl`` with file and reason, plus a byte copy; an
  earlier good version of such a file keeps its chunks (nothing is lost to a bad upload).
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from include.rag import DAG_ID, PREFIX, ZONE

if TYPE_CHECKING:
    from include.rag.config import IngestConfig
    from include.rag.store import KnowledgeStore

log = logging.getLogger(__name__)


def source_root(source: str):  # noqa: ANN201 - ObjectStoragePath
    from include.platform import storage

    return storage.lake_path(ZONE, PREFIX, source)


def list_sources() -> list[str]:
    """Folder names under ``raw/knowledge/`` (sorted; hidden ones skipped)."""
    from include.platform import storage

    root = storage.lake_path(ZONE, PREFIX)
    root.fs.invalidate_cache()
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _local_symlinks(root) -> list[str]:  # noqa: ANN001 - ObjectStoragePath
    """Keys of symlinks under a local-files source (object stores have none)."""
    import os

    from include.platform import storage

    if not storage.is_local(root) or not os.path.isdir(root.path):
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(root.path):
        for name in filenames + dirnames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                found.append(os.path.relpath(full, root.path).replace(os.sep, "/"))
    return sorted(found)


def doc_id(source: str, path: str) -> str:
    return hashlib.sha256(f"{source}\x00{path}".encode()).hexdigest()[:32]


def ingest_source(cfg: IngestConfig, source: str, day: date, *, store: KnowledgeStore | None = None) -> dict[str, Any]:
    """Bring the store in line with ``raw/knowledge/<source>/``; counts of what happened."""
    from include.platform import lake_watch, quarantine, storage
    from include.rag import chunking, embedding, extract
    from include.rag.store import DocumentWrite, KnowledgeStore

    started = time.perf_counter()
    store = store or KnowledgeStore(cfg.kb_conn_id)
    model = embedding.model_info(cfg.embedding_model, cfg.precision, conn_id=cfg.embedding_conn_id)
    # A hosted model's version (connection + model name) joins the fingerprint: naming another model re-embeds.
    fingerprint_key = cfg.chunking_key if model.hosted is None else f"{cfg.chunking_key};version={model.version}"
    root = source_root(source)
    objects = lake_watch.list_objects(root)
    stored = store.documents(source)
    rejected: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    unchanged = 0
    max_bytes = int(cfg.max_file_mb * 1024 * 1024)
    links = _local_symlinks(root)
    for key in links:  # the listing skips file links and walks into directory links: refuse both, visibly
        rejected.append({"source_file": f"{PREFIX}/{source}/{key}", "line": None,
                         "reason": "a symlink: refused (it may point anywhere on the worker)"})
    objects = {k: o for k, o in objects.items() if not any(k == ln or k.startswith(ln + "/") for ln in links)}
    for key, obj in sorted(objects.items()):
        file_path = storage.path_from_uri(obj.uri, ZONE)
        where = f"{PREFIX}/{source}/{key}"
        if storage.is_symlink(file_path):
            rejected.append({"source_file": where, "line": None, "reason": "a symlink: refused (may point anywhere)"})
            continue
        if obj.size is not None and obj.size > max_bytes:
            rejected.append({"source_file": where, "line": None,
                             "reason": f"too large: {obj.size} bytes > max_file_mb {cfg.max_file_mb}"})
            continue
        data = storage.read_bytes(file_path)
        content_hash = hashlib.sha256(data).hexdigest()
        fingerprint = hashlib.sha256(f"{content_hash}\x00{fingerprint_key}".encode()).hexdigest()
        if stored.get(key, (None, None))[1] == fingerprint:
            unchanged += 1
            continue
        try:
            doc = extract.extract(key, data)
        except extract.UnreadableDocument as exc:
            rejected.append({"source_file": where, "line": None, "reason": exc.reason, "bytes": len(data)})
            quarantine.keep_copy(DAG_ID, day, file_path, source, *key.split("/")[:-1])
            continue
        chunks = chunking.chunk_document(doc, source, key, chunk_size=cfg.chunk_size, overlap=cfg.chunk_overlap)
        pending.append({"key": key, "doc": doc, "chunks": chunks, "content_hash": content_hash,
                        "fingerprint": fingerprint, "size": len(data)})

    # Embed only texts the store has never embedded with this model; one length-sorted pass for the source.
    all_chunks = [c for p in pending for c in p["chunks"]]
    known = store.known_vectors((c.text_hash for c in all_chunks), model.version)
    todo = sorted({c.text_hash: c.text for c in all_chunks if c.text_hash not in known}.items())
    t_embed = time.perf_counter()
    if model.hosted is None:
        fresh = embedding.embed([t for _, t in todo], ref=cfg.embedding_model, batch_size=cfg.batch_size,
                                threads=cfg.threads, precision=cfg.precision)
    else:
        from include.rag import hosted

        # The store's dimension is checked on the first answer, before the rest of the source is paid for.
        replacing = [doc_id(source, p["key"]) for p in pending] + [stored[k][0] for k in stored if k not in objects]
        fresh = hosted.embed([t for _, t in todo], model.hosted, batch_size=cfg.hosted_batch_size,
                             timeout_s=cfg.hosted_timeout_s, max_retries=cfg.hosted_max_retries,
                             on_first_batch=lambda dim: store.ensure_dim(dim, replacing=replacing))
    embed_seconds = time.perf_counter() - t_embed
    vectors = known | {h: fresh[i] for i, (h, _) in enumerate(todo)}

    import numpy as np

    writes = [DocumentWrite(doc_id=doc_id(source, p["key"]), source=source, path=p["key"], title=p["doc"].title,
                            format=p["doc"].format, content_hash=p["content_hash"], fingerprint=p["fingerprint"],
                            size=p["size"], chunks=p["chunks"], model=model.version,
                            vectors=np.stack([vectors[c.text_hash] for c in p["chunks"]]) if p["chunks"]
                            else np.zeros((0, model.dim or 0), dtype=np.float32))
              for p in pending]
    rejected_keys = {r["source_file"].split("/", 2)[2] for r in rejected}
    deleted = [stored[k][0] for k in stored if k not in objects]
    result = store.apply(writes, deleted)
    quarantine_uri = quarantine.write_rejected(DAG_ID, day, source, rejected)
    added = sum(1 for p in pending if p["key"] not in stored)
    stats = {"source": source, "files": len(objects), "unchanged": unchanged, "added": added,
             "changed": len(pending) - added, "deleted": len(deleted), "quarantined": len(rejected),
             "kept_previous_version": sorted(k for k in rejected_keys if k in stored),
             "embedded": len(todo), "reused_vectors": len(all_chunks) - len(todo),
             "embed_seconds": round(embed_seconds, 3), "seconds": round(time.perf_counter() - started, 3),
             "quarantine": quarantine_uri, **result}
    log.info("knowledge source %s: %s", source, stats)
    return stats
