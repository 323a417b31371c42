"""Knowledge-base ingest throughput and query latency (issue #17), measured side by side in one run.

1. **Ingest**: the shipped demo corpus (17 documents, :mod:`include.rag.demo`) through our whole per-source
   ingest (:func:`include.rag.ingest.ingest_source`: read, extract, chunk, embed, upsert into a fresh DuckDB
   store) vs sentence-transformers' default ``SentenceTransformer(path).encode(texts)`` of the *same chunk
   texts* with the *same model* (embedding only: the baseline does no extraction and no writes). Rounds are
   interleaved; each round of ours starts from an empty store so nothing is skipped or reused. Ours runs
   twice per round: at fp32 and at ``precision=bf16`` (what ``precision=auto``, the default, picks on AMX CPUs). Also our embedder alone
   (:func:`include.rag.embedding.embed`) on the same texts, fp32 and bf16.
   What bf16 costs: cosine of each bf16 vector to its fp32 one, overlap of the dense top-5 for the seeded and
   real-doc questions, and recall@5 of the planted passages with each store (hybrid search).
2. **Query latency** at 10k chunks (``--latency-only --chunks 100000`` adds the 100k keys to the JSON): the corpus' real chunks (texts and vectors) replicated with fresh ids
   and slightly jittered vectors up to 10,000 rows, then :func:`include.rag.search.hybrid_search` (query
   embedding + BM25 in SQL + exact cosine + RRF) for the seeded questions, p50/p95; BM25 and dense alone too.

Writes bench/results/ingest_throughput.json.

    PYTHONPATH=$PWD:$PWD/plugins .venv/bin/python bench/ingest_throughput.py [--rounds 2] [--chunks 10000]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "ingest_throughput.json"


def _fresh_data_dir() -> str:
    d = tempfile.mkdtemp(prefix="kb-bench-")
    os.environ["AIRFLOW_VAR_GENAI_DATA_DIR"] = d
    return d


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def measure_latency(n_chunks: int, passes: int) -> dict:
    """Grow the current store (an ingested demo corpus) to ``n_chunks`` and time the seeded questions."""
    import numpy as np

    from include.rag import chunking, demo, search
    from include.rag.store import DocumentWrite, KnowledgeStore

    store = KnowledgeStore()
    with store.connect() as conn:
        rows = conn.execute("SELECT chunk_id, doc_id, source, path, position, heading, body, text, embedding "
                            "FROM kb_chunks").fetchall()
    rng = np.random.default_rng(0)
    copies = max(0, n_chunks - len(rows))
    for start in range(0, copies, 2000):
        writes = []
        for i in range(start, min(copies, start + 2000)):
            _cid, _doc, _source, path, position, heading, body, text, vec = rows[i % len(rows)]
            v = np.asarray(vec, dtype=np.float32) + rng.normal(scale=0.01, size=384).astype(np.float32)
            chunk = chunking.Chunk(f"bench{i:07d}", position, heading, text, body)
            writes.append(DocumentWrite(doc_id=f"bench-{i}", source="bench", path=f"{path}#{i}", title="",
                                        format="text", content_hash="", fingerprint="", size=0, chunks=[chunk],
                                        vectors=(v / np.linalg.norm(v))[None, :], model="bench"))
        store.apply(writes, [])
    total = store.counts()["chunks"]
    questions = [q for q, *_ in demo.SEEDED_QUESTIONS] * passes
    lat: dict[str, list[float]] = {"hybrid": [], "bm25": [], "dense": []}
    for q in questions:
        for mode in lat:
            t = time.perf_counter()
            search.hybrid_search(q, 5, store=store, mode=mode)
            lat[mode].append((time.perf_counter() - t) * 1000)
    tag = _label(n_chunks)
    out: dict = {f"query_chunks_{tag}": total, f"queries_{tag}": len(questions)}
    for mode, prefix in (("hybrid", "query"), ("bm25", "bm25"), ("dense", "dense")):
        out[f"{prefix}_p50_ms_{tag}"] = round(statistics.median(lat[mode]), 1)
        out[f"{prefix}_p95_ms_{tag}"] = round(_pct(lat[mode], 0.95), 1)
    return out


def latency_only(n_chunks: int, passes: int) -> None:
    """Fresh store with the demo corpus ingested (fp32), grown to ``n_chunks``; keys merged into the JSON."""
    import torch

    from include.rag import demo, ingest
    from include.rag.config import IngestConfig

    torch.set_num_threads(2)
    _fresh_data_dir()
    demo.seed_knowledge_base()
    cfg = IngestConfig.defaults()
    for source in ingest.list_sources():
        ingest.ingest_source(cfg, source, datetime.date(2026, 12, 3))
    result = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    result.update(measure_latency(n_chunks, passes))
    result.setdefault("machine", {})[f"load_average_after_{_label(n_chunks)}"] = os.getloadavg()
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=3, help="passes over the seeded questions")
    parser.add_argument("--latency-only", action="store_true",
                        help="skip the throughput rounds; add query latency at --chunks to the existing JSON")
    args = parser.parse_args()
    if args.latency_only:
        latency_only(args.chunks, args.queries)
        return

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from include.rag import chunking, demo, embedding, extract, ingest, search
    from include.rag.config import IngestConfig
    from include.rag.store import KnowledgeStore

    torch.set_num_threads(2)
    cfg = IngestConfig.defaults()
    day = datetime.date(2026, 12, 3)
    texts: list[str] = []
    for source, files in demo.corpus_files().items():
        for key, f in files:
            doc = extract.extract(key, f.read_bytes())
            texts += [c.text for c in chunking.chunk_document(doc, source, key, chunk_size=cfg.chunk_size,
                                                              overlap=cfg.chunk_overlap)]
    n_docs = sum(len(v) for v in demo.corpus_files().values())
    st = SentenceTransformer(embedding.model_info().path, device="cpu")
    embedding.embed(["warm up"]), st.encode(["warm up"])

    ours, ours_bf16, base, embed_only, embed_bf16 = [], [], [], [], []
    recall: dict[str, float] = {}
    stores: dict[str, str] = {}
    for r in range(args.rounds):
        for precision, times in (("fp32", ours), ("bf16", ours_bf16)):
            stores[precision] = _fresh_data_dir()
            demo.seed_knowledge_base()
            run_cfg = IngestConfig.from_params({"precision": precision})
            t = time.perf_counter()
            stats = [ingest.ingest_source(run_cfg, s, day) for s in ingest.list_sources()]
            times.append(time.perf_counter() - t)
            assert sum(s["embedded"] for s in stats) > 0.9 * len(texts), stats
            if r == 0:
                hits = [any(h.source == src and h.path == path and ans in h.body
                            for h in search.hybrid_search(q, 5, store=KnowledgeStore()))
                        for q, src, path, ans in demo.SEEDED_QUESTIONS]
                recall[precision] = sum(hits) / len(hits)
        t = time.perf_counter()
        st.encode(texts)  # sentence-transformers' defaults: batch_size 32, its own length sort
        base.append(time.perf_counter() - t)
        t = time.perf_counter()
        fp32_vecs = embedding.embed(texts, batch_size=cfg.batch_size, threads=2)
        embed_only.append(time.perf_counter() - t)
        t = time.perf_counter()
        bf16_vecs = embedding.embed(texts, batch_size=cfg.batch_size, threads=2, precision="bf16")
        embed_bf16.append(time.perf_counter() - t)
        print(f"round {r}: ours fp32 {ours[-1]:.1f}s bf16 {ours_bf16[-1]:.1f}s, st.encode {base[-1]:.1f}s, "
              f"embed() fp32 {embed_only[-1]:.1f}s bf16 {embed_bf16[-1]:.1f}s", flush=True)
    cosines = (fp32_vecs * bf16_vecs).sum(axis=1)
    questions_all = [q for q, *_ in demo.SEEDED_QUESTIONS + demo.REAL_DOC_QUESTIONS]
    q32 = embedding.embed(questions_all)
    q16 = embedding.embed(questions_all, precision="bf16")
    overlap = [len(set(np.argsort(-(fp32_vecs @ a))[:5]) & set(np.argsort(-(bf16_vecs @ b))[:5])) / 5
               for a, b in zip(q32, q16, strict=True)]
    os.environ["AIRFLOW_VAR_GENAI_DATA_DIR"] = stores["fp32"]

    latency = measure_latency(args.chunks, args.queries)

    docs_ours = n_docs / statistics.median(ours)
    docs_ours_bf16 = n_docs / statistics.median(ours_bf16)
    docs_base = n_docs / statistics.median(base)
    result = {
        "documents": n_docs, "chunks": len(texts), "rounds": args.rounds,
        "chunk_size": cfg.chunk_size, "chunk_overlap": cfg.chunk_overlap, "batch_size": cfg.batch_size,
        "documents_per_s_ours": round(docs_ours, 3),
        "documents_per_s_sentence_transformers": round(docs_base, 3),
        "speedup_vs_sentence_transformers": round(docs_ours / docs_base, 3),
        "documents_per_s_ours_bf16": round(docs_ours_bf16, 3),
        "speedup_bf16_vs_sentence_transformers": round(docs_ours_bf16 / docs_base, 3),
        "chunks_per_s_our_embed_only_bf16": round(len(texts) / statistics.median(embed_bf16), 2),
        "bf16_cosine_to_fp32_min": round(float(cosines.min()), 5),
        "bf16_cosine_to_fp32_mean": round(float(cosines.mean()), 5),
        "bf16_dense_top5_overlap_mean": round(float(np.mean(overlap)), 3),
        "recall_at_5_planted_fp32": recall.get("fp32"), "recall_at_5_planted_bf16": recall.get("bf16"),
        "seconds_ours_bf16": [round(x, 2) for x in ours_bf16], "seconds_embed_only_bf16": [round(x, 2) for x in embed_bf16],
        "chunks_per_s_ours_ingest": round(len(texts) / statistics.median(ours), 2),
        "chunks_per_s_sentence_transformers_encode": round(len(texts) / statistics.median(base), 2),
        "chunks_per_s_our_embed_only": round(len(texts) / statistics.median(embed_only), 2),
        "seconds_ours": [round(x, 2) for x in ours], "seconds_sentence_transformers": [round(x, 2) for x in base],
        "seconds_embed_only": [round(x, 2) for x in embed_only],
        **latency,
        "machine": {"cpus": os.cpu_count(), "torch_threads": 2, "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "notes": "Ours = the whole ingest (read, extract, chunk, embed, DuckDB upsert); baseline = encode only. "
                 "Both use length-sorted batches of 32 (sentence-transformers sorts too); fp32 unless named bf16. "
                 "Query latency includes embedding the query and two DuckDB connections (precision lookup, then one for BM25, dense and fetch; no index: exact search).",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
