"""Which fusion / BM25 / feedback settings to ship, chosen on NFCorpus **dev** qrels only (issue #17).

``--feedback``: the pseudo-relevance-feedback grid that chose hybrid_search's feedback round (RM3-style BM25
expansion and Rocchio on the query vector, from the top chunks of the first RRF), written to
``bench/results/retrieval_feedback_dev.json``. Runs are shaped like the store's (BM25: matching chunks only;
each retriever's top 400 chunks; documents by MaxP), the naive-RRF baseline as bench/retrieval_quality.py
builds it.

Reads the chunks, vectors and postings that bench/retrieval_quality.py ingested through the project's code
(``bench/.cache/retrieval_quality/fp32``) and replays the two retrievers in memory (scipy sparse BM25 with
the same formula as include/rag/bm25.py's SQL, numpy cosine = DuckDB's exact search) so that hundreds of
variants take seconds. Prints a table of dev nDCG@10 / recall@100; the test split is never read here.

    PYTHONPATH=$PWD:$PWD/plugins .venv/bin/python bench/retrieval_tuning.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from bench import retrieval_quality as rq  # PYTHONPATH = the project root, as for every bench (make bench)


def load_store():  # noqa: ANN201
    from scipy import sparse

    store = rq.use_store(os.environ.get("TUNE_STORE", "fp32"))
    with store.connect() as conn:
        chunks = conn.execute("SELECT chunk_id, path, n_tokens, embedding, text FROM kb_chunks ORDER BY chunk_id").fetchall()
        post = conn.execute("SELECT chunk_id, term, tf FROM kb_postings").fetchall()
    ids = [c[0] for c in chunks]
    row = {cid: i for i, cid in enumerate(ids)}
    docs = [Path(c[1]).stem for c in chunks]
    emb = np.asarray([c[3] for c in chunks], dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    texts = [c[4] for c in chunks]
    vocab: dict[str, int] = {}
    r, c, v = [], [], []
    for cid, term, tf in post:
        r.append(row[cid])
        c.append(vocab.setdefault(term, len(vocab)))
        v.append(tf)
    tf = sparse.csc_matrix((np.asarray(v, dtype=np.float64), (r, c)), shape=(len(ids), len(vocab)))
    dl = np.asarray([c[2] for c in chunks], dtype=np.float64)
    return ids, docs, emb, texts, vocab, tf, dl


def bm25_matrix(tf, dl, k1: float, b: float):  # noqa: ANN001, ANN201
    from scipy import sparse

    n = tf.shape[0]
    df = np.diff(tf.indptr)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    coo = tf.tocoo()
    norm = k1 * (1 - b + b * dl[coo.row] / dl.mean())
    w = coo.data * (k1 + 1) / (coo.data + norm) * idf[coo.col]
    return sparse.csc_matrix((w, (coo.row, coo.col)), shape=tf.shape)


def maxp(scores: np.ndarray, docs: list[str], depth: int = rq.DEPTH) -> list[str]:
    order = np.argsort(-scores, kind="stable")
    seen: dict[str, None] = {}
    for i in order:
        if scores[i] == -np.inf:
            break
        seen.setdefault(docs[i], None)
        if len(seen) == depth:
            break
    return list(seen)


def convex_z(runs: list[list[tuple[str, float]]], weights: list[float]) -> list[tuple[str, float]]:
    """Fuse scored lists: ``Σ w_r · z_r`` with ``z_r`` the run's scores as z-scores over that run, best first.

    A hit missing from a run gets that run's lowest z (it scored below everything the run returned).
    Why z-scores and not raw scores: BM25 is unbounded and query-dependent, cosine lives in [-1, 1];
    standardising each run puts them on one scale (Bruch, Gai & Ingber 2023, "An Analysis of Fusion
    Functions for Hybrid Retrieval", ACM TOIS: a tuned convex combination beats RRF). Runs must be deep
    (1000 here): the mean and spread of a 50-hit run are too noisy (bench/retrieval_tuning.py).
    """
    import statistics

    per_run: list[tuple[dict[str, float], float]] = []
    for run in runs:
        scores = [s for _, s in run]
        if not scores:
            per_run.append(({}, 0.0))
            continue
        mean = statistics.fmean(scores)
        sd = statistics.pstdev(scores) or 1.0
        z = {cid: (s - mean) / sd for cid, s in run}
        per_run.append((z, min(z.values())))
    ids = {cid for z, _ in per_run for cid in z}
    fused = {cid: sum(w * z.get(cid, floor) for (z, floor), w in zip(per_run, weights, strict=True)) for cid in ids}
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def main() -> None:
    from include.rag import bm25, embedding

    folder, _ = rq.fetch_dataset()
    _, queries, qrels = rq.load(folder, "dev")
    ids, docs, emb, _texts, vocab, tf, dl = load_store()
    qids = list(queries)
    qvec = embedding.embed([queries[q] for q in qids])
    qterms = [[vocab[t] for t in set(bm25.tokens(queries[q])) if t in vocab] for q in qids]
    dense = qvec @ emb.T  # (Q, N) cosine
    n_chunks = len(ids)
    print(f"dev queries {len(qids)}, chunks {n_chunks}", flush=True)

    def bm25_scores(k1: float, b: float) -> np.ndarray:
        w = bm25_matrix(tf, dl, k1, b)
        out = np.zeros((len(qids), n_chunks))
        for i, cols in enumerate(qterms):
            if cols:
                out[i] = np.asarray(w[:, cols].sum(axis=1)).ravel()
        return out

    def ev(score_rows: np.ndarray) -> dict:
        runs = {q: maxp(score_rows[i], docs) for i, q in enumerate(qids)}
        return rq.evaluate(runs, qrels)

    def ranks(s: np.ndarray, cand: int) -> np.ndarray:
        """1-based rank of each chunk in ``s`` (rows), inf outside the top ``cand`` or with score 0."""
        order = np.argsort(-s, axis=1, kind="stable")
        r = np.full(s.shape, np.inf)
        rows = np.arange(s.shape[0])[:, None]
        r[rows, order[:, :cand]] = np.arange(1, cand + 1)[None, :]
        r[s <= 0] = np.inf
        return r

    table: list[tuple[str, dict]] = []

    def report(name: str, scores: np.ndarray) -> None:
        table.append((name, ev(scores)))
        print(f"{name:60s} {table[-1][1]}", flush=True)

    lex = bm25_scores(1.2, 0.75)
    report("bm25 k1=1.2 b=0.75 (shipped)", lex)
    report("dense", dense)
    for k1, b in () if os.environ.get("TUNE_QUICK") else ((0.9, 0.4), (1.2, 0.5), (1.5, 0.75), (2.0, 0.75), (1.2, 0.9), (0.9, 0.75)):
        report(f"bm25 k1={k1} b={b}", bm25_scores(k1, b))

    # Fusion, chunk level then MaxP (what hybrid_search ranks). Naive RRF as shipped: candidates 50 each.
    for cand in () if os.environ.get("TUNE_QUICK") else (50, 100, 200, 1000):
        rb, rd = ranks(lex, cand), ranks(dense, cand)
        report(f"rrf k=60 chunks, candidates {cand}", 1 / (60 + rb) + 1 / (60 + rd))
    rb, rd = ranks(lex, 1000), ranks(dense, 1000)
    for k in () if os.environ.get("TUNE_QUICK") else (10, 20, 30, 60, 100):
        for wb in (0.3, 0.4, 0.5, 0.6, 0.7):
            report(f"weighted rrf k={k} w_bm25={wb}", wb / (k + rb) + (1 - wb) / (k + rd))

    # Convex combination of normalised scores over each retriever's candidates (absent = 0 after norm).
    def norm(s: np.ndarray, how: str, cand: int) -> np.ndarray:
        out = np.zeros_like(s)
        for i in range(s.shape[0]):
            top = np.argsort(-s[i])[:cand]
            v = s[i, top]
            if how == "minmax":
                lo, hi = v.min(), v.max()
                out[i, top] = (v - lo) / (hi - lo) if hi > lo else 0
            elif how == "max":
                out[i, top] = v / v.max() if v.max() > 0 else 0
            elif how == "z":
                sd = v.std()
                out[i, top] = (v - v.mean()) / sd if sd > 0 else 0
                out[i, np.setdiff1d(np.arange(s.shape[1]), top)] = (v.min() - v.mean()) / sd if sd > 0 else 0
        return out

    for how in () if os.environ.get("TUNE_QUICK") else ("minmax", "max", "z"):
        for cand in (100, 1000):
            nb, nd = norm(lex, how, cand), norm(dense, how, cand)
            for a in (0.2, 0.3, 0.4, 0.5, 0.6):
                report(f"convex {how} cand={cand} a_bm25={a}", a * nb + (1 - a) * nd)

    for cand in () if os.environ.get("TUNE_QUICK") else (50, 200, 400):
        nb, nd = norm(lex, "z", cand), norm(dense, "z", cand)
        for a in (0.3, 0.4):
            report(f"convex z cand={cand} a_bm25={a}", a * nb + (1 - a) * nd)

    # What the bench compares against: naive RRF (k=60) of the two *document* runs (MaxP, 100 deep).
    from include.rag.search import rrf

    naive = {}
    for i, q in enumerate(qids):
        naive[q] = [d for d, _ in rrf([maxp(lex[i], docs), maxp(dense[i], docs)], k=60)][:rq.DEPTH]
    table.append(("naive rrf k=60 of document runs", rq.evaluate(naive, qrels)))
    print(f"{table[-1][0]:60s} {table[-1][1]}", flush=True)
    # The candidate convex_z on runs shaped like the store's (BM25: matching chunks only), 1000 deep.
    for a in (0.3, 0.4, 0.5):
        runs_z = {}
        for i, q in enumerate(qids):
            top_b = [j for j in np.argsort(-lex[i], kind="stable")[:1000] if lex[i, j] > 0]
            top_d = np.argsort(-dense[i], kind="stable")[:1000]
            fused = convex_z([[(j, lex[i, j]) for j in top_b], [(j, dense[i, j]) for j in top_d]], [a, 1 - a])
            seen: dict[str, None] = {}
            for j, _ in fused:
                seen.setdefault(docs[j], None)
                if len(seen) == rq.DEPTH:
                    break
            runs_z[q] = list(seen)
        table.append((f"candidate convex_z (store-shaped runs) a_bm25={a}", rq.evaluate(runs_z, qrels)))
        print(f"{table[-1][0]:60s} {table[-1][1]}", flush=True)

    # z-scores over the whole collection (depth-independent: the mean/sd of every chunk's score).
    zb = (lex - lex.mean(axis=1, keepdims=True)) / lex.std(axis=1, keepdims=True).clip(1e-9)
    zd = (dense - dense.mean(axis=1, keepdims=True)) / dense.std(axis=1, keepdims=True).clip(1e-9)
    for a in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        report(f"convex z-all a_bm25={a}", a * zb + (1 - a) * zd)
    for a in (0.3, 0.4):  # bm25 over matching chunks only (non-matching excluded from mean/sd)
        m = np.where(lex > 0, lex, np.nan)
        zbm = np.nan_to_num((lex - np.nanmean(m, axis=1, keepdims=True)) / np.nanstd(m, axis=1, keepdims=True).clip(1e-9), nan=0)
        zbm[lex <= 0] = zbm.min()
        report(f"convex z-all(bm25 matched) a_bm25={a}", a * zbm + (1 - a) * zd)

    # Same-document context: a chunk also gains beta x the best fused score of its document's other chunks.
    doc_index = {d: i for i, d in enumerate(sorted(set(docs)))}
    col = np.asarray([doc_index[d] for d in docs])
    nb, nd = norm(lex, "z", 1000), norm(dense, "z", 1000)
    fused = 0.3 * nb + 0.7 * nd
    for beta in () if os.environ.get("TUNE_QUICK") else (0.1, 0.2, 0.3):
        boosted = np.empty_like(fused)
        for i in range(fused.shape[0]):
            total = np.zeros(len(doc_index))
            np.add.at(total, col, fused[i] - fused[i].min())
            boosted[i] = fused[i] + beta * (total[col] - (fused[i] - fused[i].min()))
        report(f"convex z cand=1000 a=0.3 + doc context beta={beta}", boosted)

    best = sorted(table, key=lambda kv: -kv[1]["ndcg_at_10"])[:15]
    print("\nbest on dev:")
    for name, m in best:
        print(f"  {name:60s} {m}")
    out = Path(rq.CACHE) / "tuning_dev.json"
    out.write_text(json.dumps(table, indent=1))


def feedback_grid(split: str = "dev") -> dict[str, dict]:
    """nDCG@10 / recall@100 of feedback settings on ``split`` (the choice was made on dev; see the docstring)."""
    from scipy import sparse

    from include.rag import bm25, embedding
    from include.rag.search import rrf

    folder, _ = rq.fetch_dataset()
    _, queries, qrels = rq.load(folder, split)
    ids, docs, emb, _texts, vocab, tf, dl = load_store()
    qids = list(queries)
    qvec = embedding.embed([queries[q] for q in qids])
    w = bm25_matrix(tf, dl, 1.2, 0.75).tocsr()
    q = sparse.lil_matrix((len(qids), len(vocab)))
    for i, qid in enumerate(qids):
        for t in set(bm25.tokens(queries[qid])):
            if t in vocab:
                q[i, vocab[t]] = 1.0
    q = q.tocsr()
    lex, dense = (q @ w.T).toarray(), qvec @ emb.T
    cand = rq.CHUNK_DEPTH

    def top(s: np.ndarray, positive: bool = False) -> list[int]:
        order = np.argsort(-s, kind="stable")[:cand]
        return [j for j in order if s[j] > 0] if positive else list(order)

    def docrun(idx: list[int]) -> list[str]:
        seen: dict[str, None] = {}
        for j in idx:
            seen.setdefault(docs[j], None)
            if len(seen) == rq.DEPTH:
                break
        return list(seen)

    def fuse(*lists: list[int]) -> list[int]:
        return [j for j, _ in rrf([list(x) for x in lists])]

    table: dict[str, dict] = {}

    def report(name: str, runs: dict) -> None:
        table[name] = rq.evaluate(runs, qrels)
        print(f"{name:60s} {table[name]}", flush=True)

    b1 = [top(lex[i], positive=True) for i in range(len(qids))]
    d1 = [top(dense[i]) for i in range(len(qids))]
    f1 = [fuse(b1[i], d1[i]) for i in range(len(qids))]
    report("naive rrf of the document runs (the bench's baseline)",
           {qid: [d for d, _ in rrf([docrun(b1[i]), docrun(d1[i])])][:rq.DEPTH] for i, qid in enumerate(qids)})
    report("rrf of the chunk runs (feedback=0)", {qid: docrun(f1[i]) for i, qid in enumerate(qids)})

    def rm3(m: int, t: int, alpha: float) -> list[list[int]]:
        rows = []
        for i in range(len(qids)):
            fb = w[f1[i][:m]].sum(axis=0).A1
            best = np.argsort(-fb, kind="stable")[:t]
            add = np.zeros(len(vocab))
            add[best] = fb[best] / fb[best].max()
            rows.append((1 - alpha) * q[i].toarray().ravel() + alpha * add)
        lex2 = (sparse.csr_matrix(np.stack(rows)) @ w.T).toarray()
        return [top(lex2[i], positive=True) for i in range(len(qids))]

    def rocchio(m: int, beta: float) -> list[list[int]]:
        q2 = np.stack([qvec[i] + beta * emb[f1[i][:m]].mean(0) for i in range(len(qids))])
        q2 /= np.linalg.norm(q2, axis=1, keepdims=True)
        d2 = q2 @ emb.T
        return [top(d2[i]) for i in range(len(qids))]

    for m in (3, 5, 10):
        for beta in (0.5, 1.0, 2.0):
            d2 = rocchio(m, beta)
            report(f"rocchio m={m} beta={beta}: rrf(bm25, dense')", {qid: docrun(fuse(b1[i], d2[i])) for i, qid in enumerate(qids)})
    for m in (5, 10):
        for t in (10, 20):
            for alpha in (0.3, 0.5):
                b2 = rm3(m, t, alpha)
                report(f"rm3 m={m} t={t} alpha={alpha}: rrf(bm25', dense)", {qid: docrun(fuse(b2[i], d1[i])) for i, qid in enumerate(qids)})
    for m, t, alpha in ((5, 10, 0.5), (3, 10, 0.5), (5, 10, 0.7), (5, 5, 0.5)):
        b2 = rm3(m, t, alpha)
        for mm in (3, 5):
            d2 = rocchio(mm, 1.0)
            report(f"rm3 m={m} t={t} alpha={alpha} + rocchio m={mm} beta=1.0: rrf(bm25', dense')",
                   {qid: docrun(fuse(b2[i], d2[i])) for i, qid in enumerate(qids)})
    return table


if __name__ == "__main__":
    import sys

    if "--feedback" in sys.argv:
        out = rq.HERE / "results" / "retrieval_feedback_dev.json"
        grid = feedback_grid("dev")
        out.write_text(json.dumps({"split": "dev", "chosen": "rm3 m=5 t=10 alpha=0.5 + rocchio m=5 beta=1.0: "
                                   "rrf(bm25', dense')", "ndcg_at_10_recall_at_100": grid}, indent=1) + "\n")
    else:
        main()
