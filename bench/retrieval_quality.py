"""Retrieval quality of the knowledge base on a public benchmark with judgements (issue #17).

Dataset: **BEIR NFCorpus** (nutrition questions from NutritionFacts.org → PubMed abstracts; 3,633 documents,
graded qrels; test split 323 queries, dev split 324). SciFact is reserved for evaluation and never used here.
Why NFCorpus: the smallest BEIR set with a dev split, so fusion/tokenizer choices are tuned on dev and
reported on test without touching the test judgements.

Everything runs through the project's own code, nothing re-implemented:

1. each corpus document becomes a Markdown file ``# <title>\\n\\n<text>`` under ``raw/knowledge/nfcorpus/`` of a
   bench-private lake, and :func:`include.rag.ingest.ingest_source` extracts, chunks (defaults: 100 words,
   overlap 20), embeds (the shipped MiniLM) and writes chunks, vectors and BM25 postings to DuckDB;
2. each query goes through :func:`include.rag.search.hybrid_search` with ``mode`` bm25, dense and the default
   (hybrid: RRF, then one round of pseudo-relevance feedback and a final RRF), plus the default without
   feedback (``feedback=0``, to show what feedback adds) and the default at its own depth (``candidates=50``,
   what content_generation gets); chunk rankings become document rankings by each document's best chunk (MaxP);
3. ``rrf`` is the *naive* reciprocal-rank fusion (k = 60) of the bm25 and dense document runs
   (:func:`include.rag.search.rrf`), the baseline the default has to beat by ≥ 0.01 nDCG@10.

Metrics: nDCG@10 with graded gains (BEIR/pytrec_eval convention: gain = relevance, log2 discount, ideal
from all judged documents) and recall@100, averaged over queries that have at least one relevant document.

Data: downloaded from the official BEIR URL when reachable, else read from ``$BEIR_DATA`` (a folder holding
``nfcorpus/`` or ``nfcorpus.zip``) or ``bench/.cache/beir/``; the zip's MD5 is checked against BEIR's
published value. Not committed (≈ 2.4 MB zipped, but NFCorpus' terms are research use: see
bench/datasets/README.md). The lake + DuckDB store are kept under ``bench/.cache/retrieval_quality/`` (git-
ignored): a re-run re-ingests nothing (unchanged fingerprints) and embeds nothing.

    PYTHONPATH=$PWD:$PWD/plugins .venv/bin/python bench/retrieval_quality.py [--split test] [--bf16]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import time
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "retrieval_quality.json"
CACHE = HERE / ".cache"
DATASET = "nfcorpus"
URL = f"https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{DATASET}.zip"
#: BEIR's published MD5 of nfcorpus.zip (beir-cellar/beir README, datasets table).
MD5 = "a89dba18a62ef92f7d323ec890a0d38d"  # BEIR's published checksum  # pragma: allowlist secret
DEPTH = 100  # documents per run (recall@100)
CHUNK_DEPTH = 400  # chunks asked from each retriever: 100+ distinct documents come back (≈3.6 chunks a document)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def fetch_dataset() -> tuple[Path, str]:
    """The unpacked ``nfcorpus/`` folder and where it came from (URL, $BEIR_DATA or the cache)."""
    target = CACHE / "beir"
    folder = target / DATASET
    if (folder / "corpus.jsonl").exists():
        return folder, "bench/.cache/beir (earlier fetch)"
    target.mkdir(parents=True, exist_ok=True)
    archive = target / f"{DATASET}.zip"
    origin = None
    env = os.environ.get("BEIR_DATA")
    if env:
        local = Path(env)
        if (local / DATASET / "corpus.jsonl").exists():
            shutil.copytree(local / DATASET, folder)
            return folder, f"$BEIR_DATA={env}"
        if (local / f"{DATASET}.zip").exists():
            shutil.copyfile(local / f"{DATASET}.zip", archive)
            origin = f"$BEIR_DATA={env}"
    if origin is None and not archive.exists():
        try:
            with urllib.request.urlopen(URL, timeout=30) as resp, archive.open("wb") as out:  # noqa: S310 - fixed https URL
                shutil.copyfileobj(resp, out)
            origin = URL
        except OSError as exc:
            archive.unlink(missing_ok=True)
            raise SystemExit(f"cannot download {URL} ({exc}); put {DATASET}.zip (or the unpacked {DATASET}/) in a "
                             f"folder and set BEIR_DATA to it") from None
    if _md5(archive) != MD5:
        raise SystemExit(f"{archive} has MD5 {_md5(archive)}, not BEIR's {MD5}: refusing a different file")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target)
    return folder, origin or "bench/.cache/beir (earlier download)"


def load(folder: Path, split: str) -> tuple[dict, dict, dict]:
    corpus = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            corpus[d["_id"]] = (d.get("title") or "", d.get("text") or "")
    queries = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            queries[d["_id"]] = d["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as f:
        next(f)  # header: query-id corpus-id score
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    qrels = {q: r for q, r in qrels.items() if any(v > 0 for v in r.values()) and q in queries}
    return corpus, {q: queries[q] for q in qrels}, qrels


def ndcg_at(ranking: list[str], rels: dict[str, int], k: int = 10) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((v for v in rels.values() if v > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: list[str], rels: dict[str, int], k: int = DEPTH) -> float:
    relevant = {d for d, v in rels.items() if v > 0}
    return len(relevant & set(ranking[:k])) / len(relevant)


def evaluate(runs: dict[str, list[str]], qrels: dict) -> dict[str, float]:
    n = len(qrels)
    return {"ndcg_at_10": round(sum(ndcg_at(runs.get(q, []), r) for q, r in qrels.items()) / n, 4),
            "recall_at_100": round(sum(recall_at(runs.get(q, []), r) for q, r in qrels.items()) / n, 4)}


def doc_ranking(hits, depth: int = DEPTH) -> list[str]:  # noqa: ANN001 - list[Hit]
    """Chunk hits → document ids, each at its best chunk's rank (MaxP)."""
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(Path(h.path).stem, None)
        if len(seen) == depth:
            break
    return list(seen)


def write_corpus(corpus: dict) -> int:
    """One Markdown file per document in the bench lake; unchanged files are left alone (stable mtimes)."""
    from include.platform import storage
    from include.rag import PREFIX, ZONE

    root = Path(storage.lake_path(ZONE, PREFIX, DATASET).path)
    root.mkdir(parents=True, exist_ok=True)
    written = 0
    for did, (title, text) in corpus.items():
        body = f"# {title.strip()}\n\n{text.strip()}\n" if title.strip() else f"{text.strip()}\n"
        path = root / f"{did}.md"
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
            written += 1
    return written


def ingest(precision: str) -> dict:
    """The project's ingest of the bench lake into its own store (one per precision)."""
    from include.rag import ingest as ingest_mod
    from include.rag.config import IngestConfig

    cfg = IngestConfig.from_params({"precision": precision})
    return ingest_mod.ingest_source(cfg, DATASET, datetime.date(2026, 12, 3))


#: Run name → hybrid_search keyword arguments (every run asks for CHUNK_DEPTH chunks).
RUNS = {"bm25": {"mode": "bm25", "candidates": CHUNK_DEPTH},
        "dense": {"mode": "dense", "candidates": CHUNK_DEPTH},
        "hybrid": {"mode": "hybrid", "candidates": CHUNK_DEPTH},
        "hybrid_no_feedback": {"mode": "hybrid", "candidates": CHUNK_DEPTH, "feedback": 0},
        "hybrid_candidates_50": {"mode": "hybrid", "candidates": 50}}


def run_queries(queries: dict, store, modes: tuple[str, ...]) -> tuple[dict, dict]:  # noqa: ANN001
    from include.rag import search

    runs: dict[str, dict[str, list[str]]] = {m: {} for m in modes}
    seconds: dict[str, float] = dict.fromkeys(modes, 0.0)
    for n, (qid, text) in enumerate(queries.items(), start=1):
        for mode in modes:
            t = time.perf_counter()
            hits = search.hybrid_search(text, CHUNK_DEPTH, store=store, **RUNS[mode])
            seconds[mode] += time.perf_counter() - t
            runs[mode][qid] = doc_ranking(hits)
        if n % 50 == 0:
            print(f"{n}/{len(queries)} queries", flush=True)
    return runs, seconds


def use_store(name: str):  # noqa: ANN201 - KnowledgeStore
    """Point the project's settings at the bench-private data dir ``name`` (lake + DuckDB)."""
    data = CACHE / "retrieval_quality" / name
    data.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_VAR_GENAI_DATA_DIR"] = str(data)
    from include.rag.store import KnowledgeStore

    return KnowledgeStore()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="test", choices=["test", "dev"],
                        help="qrels split to report (tuning used dev only)")
    parser.add_argument("--bf16", action="store_true", help="also ingest with bf16 vectors and report dense_bf16")
    parser.add_argument("--add-bf16", action="store_true",
                        help="only the bf16 part, merged into the existing results JSON (fp32 keys kept)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from include.rag import search

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    folder, origin = fetch_dataset()
    corpus, queries, qrels = load(folder, args.split)
    result: dict = {
        "dataset": {"name": "BEIR NFCorpus", "split": args.split, "documents": len(corpus), "queries": len(queries),
                    "qrels": sum(len(r) for r in qrels.values()),
                    "source": URL, "fetched_from": origin, "md5": MD5,
                    "license": "NFCorpus (Boteva et al., ECIR 2016): provided by its authors for research use; "
                               "see bench/datasets/README.md",
                    "not_used": "SciFact (reserved for evaluation)"},
        "method": {"document_score": "best chunk (MaxP)", "depth_documents": DEPTH, "depth_chunks": CHUNK_DEPTH,
                   "ndcg": "graded gains, log2 discount (pytrec_eval's ndcg_cut_10)",
                   "rrf": "naive: 1/(60 + rank) summed over the bm25 and dense document runs",
                   "default": "include.rag.search.hybrid_search(mode='hybrid') as shipped: RRF k=60 of the BM25 and dense "
                              "chunk runs, then pseudo-relevance feedback from its top 5 chunks (BM25: RM3-style, the 10 "
                              "terms of highest summed BM25 weight added, alpha 0.5; dense: Rocchio, beta 1) and a final "
                              f"RRF; candidates={CHUNK_DEPTH} for recall@100 depth",
                   "analyzer": "BM25 (every run): include.rag.bm25.ANALYZER, Snowball English stemmer + stop words",
                   "tuned_on": "NFCorpus dev qrels only (bench/retrieval_tuning.py); test qrels only reported",
                   "rejected": "dev-tuned z-score fusion: bench/results/retrieval_quality_rejected_convex_z.json"},
    }
    timings: dict = {}
    if args.add_bf16:
        previous = json.loads(RESULTS.read_text())
        result = {**previous, "method": result["method"], "dataset": previous["dataset"]}
        timings = previous.get("timings", {})
    precisions = ("bf16",) if args.add_bf16 else ("fp32", "bf16") if args.bf16 else ("fp32",)
    for precision in precisions:
        store = use_store(precision)
        timings[f"corpus_files_written_{precision}"] = write_corpus(corpus)
        t = time.perf_counter()
        stats = ingest(precision)
        timings[f"ingest_seconds_{precision}"] = round(time.perf_counter() - t, 1)
        timings[f"embedded_chunks_{precision}"] = stats["embedded"]
        timings[f"embed_seconds_{precision}"] = stats["embed_seconds"]
        counts = store.counts()
        result["dataset"]["chunks"] = counts["chunks"]
        modes = tuple(RUNS) if precision == "fp32" else ("dense", "hybrid")
        runs, seconds = run_queries(queries, store, modes)
        for mode in modes:
            timings[f"query_ms_mean_{mode}_{precision}"] = round(1000 * seconds[mode] / len(queries), 1)
        if precision == "fp32":
            rrf_runs = {q: [d for d, _ in search.rrf([runs["bm25"][q], runs["dense"][q]], k=60)][:DEPTH]
                        for q in queries}
            result["bm25"] = evaluate(runs["bm25"], qrels)
            result["dense"] = evaluate(runs["dense"], qrels)
            result["rrf"] = evaluate(rrf_runs, qrels)
            result["default"] = evaluate(runs["hybrid"], qrels)
            result["default_no_feedback"] = {
                **evaluate(runs["hybrid_no_feedback"], qrels),
                "note": "the default with feedback=0: RRF k=60 of the two chunk runs (what shipped before feedback)"}
            result["default_candidates_50"] = {
                "ndcg_at_10": evaluate(runs["hybrid_candidates_50"], qrels)["ndcg_at_10"],
                "note": "the default at hybrid_search's default depth (candidates=50 per retriever, feedback on), what "
                        "content_generation gets; recall@100 not comparable (fewer than 100 documents come back)"}
            result["default_minus_rrf_ndcg_at_10"] = round(result["default"]["ndcg_at_10"]
                                                           - result["rrf"]["ndcg_at_10"], 4)
        else:
            result["dense_bf16"] = evaluate(runs["dense"], qrels)
            result["default_bf16"] = evaluate(runs["hybrid"], qrels)
            result["dense_bf16_minus_fp32_ndcg_at_10"] = round(result["dense_bf16"]["ndcg_at_10"]
                                                               - result["dense"]["ndcg_at_10"], 4)
        print(json.dumps({k: v for k, v in result.items() if k not in ("dataset", "method")}), flush=True)
    timings["total_seconds_add_bf16" if args.add_bf16 else "total_seconds"] = round(time.perf_counter() - started, 1)
    result["timings"] = timings
    result["machine"] = {"cpus": os.cpu_count(), "torch_threads": args.threads, "load_average": os.getloadavg(),
                         "python": platform.python_version(),
                         "note": "2 shared, loaded cores: timings are inflated and noisy"}
    result["measured_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.split == "test":
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
