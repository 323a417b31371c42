"""The tasks of ``ingest_knowledge_base``, one step function each: plan → ingest (mapped per source) → publish.

The work lives in :mod:`include.rag.ingest` (lake I/O and the store); this module decides what runs, what
fails at once and what goes to XCom and the ``knowledge_base`` asset event. Import-light at module level.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.rag.config import IngestConfig

log = logging.getLogger(__name__)


def plan_sources(cfg: IngestConfig) -> list[str]:
    """The sources to ingest: the Param's list (each must exist) or every folder under raw/knowledge/."""
    from include.platform.errors import ConfigError
    from include.rag.ingest import list_sources

    present = list_sources()
    if cfg.sources:
        missing = [s for s in cfg.sources if s not in present]
        if missing:
            raise ConfigError(f"no folder raw/knowledge/{missing[0]}/ in the lake (present: {present})",
                              "drop it from Param sources or upload its documents first")
        return list(cfg.sources)
    if not present:
        raise ConfigError("no sources under raw/knowledge/ in the lake",
                          "run seed_demo_data (it writes the demo corpus) or upload documents to "
                          "raw/knowledge/<source>/")
    return present


#: The ingest task per embedding model: the hosted one runs in pool llm_api (the hosted APIs' concurrency).
LOCAL_TASK, HOSTED_TASK = "ingest", "ingest_hosted"


def choose_embedder(cfg: IngestConfig) -> str:
    """``ingest_hosted`` (pool llm_api) for a hosted model — its connection checked first, so a missing one fails
    here, once, naming the fix — else ``ingest``."""
    from include.rag.embedding import model_info
    from include.rag.hosted import HOSTED

    if cfg.embedding_model != HOSTED:
        return LOCAL_TASK
    log.info("hosted embedding model: %s", model_info(cfg.embedding_model, conn_id=cfg.embedding_conn_id).version)
    return HOSTED_TASK


def ingest(cfg: IngestConfig, source: str, context: dict[str, Any]) -> dict[str, Any]:
    from include.platform.runtime import run_date
    from include.rag.ingest import ingest_source

    return ingest_source(cfg, source, run_date(context))


def publish(cfg: IngestConfig, results: list[dict[str, Any]], context: dict[str, Any]) -> dict[str, Any]:
    """Prune sources whose folder is gone (full runs only), then announce the knowledge base's state.

    ``results``: the ingest tasks' (whichever of ``ingest`` / ``ingest_hosted`` ran; the skipped one's are None).
    """
    from include.rag import KNOWLEDGE_BASE
    from include.rag.embedding import model_info
    from include.rag.ingest import list_sources
    from include.rag.store import KnowledgeStore

    store = KnowledgeStore(cfg.kb_conn_id)
    pruned = store.drop_sources(list_sources()) if not cfg.sources else {"documents_deleted": 0, "chunks_deleted": 0}
    counts = store.counts()
    model = model_info(cfg.embedding_model, cfg.precision, conn_id=cfg.embedding_conn_id)
    results = [r for r in results if r]
    run = {k: sum(int(r.get(k, 0)) for r in results)
           for k in ("files", "unchanged", "added", "changed", "deleted", "quarantined", "embedded", "reused_vectors")}
    extra = {"documents": counts["documents"], "chunks": counts["chunks"], "sources": counts["sources"],
             "embedding_model": model.ref, "embedding_model_version": model.version, "precision": cfg.local_precision if model.hosted is None else None, "dim": store.vector_dim(),
             "store": cfg.kb_conn_id, "run": run, "pruned": pruned,
             "chunking": {"chunk_size": cfg.chunk_size, "chunk_overlap": cfg.chunk_overlap}}
    context["outlet_events"][KNOWLEDGE_BASE].extra = extra
    log.info("knowledge base: %s", extra)
    return extra
