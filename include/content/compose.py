"""The extractive composer: a cited draft from the retrieved chunks alone, with no generative model.

Used when no LLM connection is configured (mode ``auto``) or asked for (mode ``extractive``). It cannot
hallucinate — every sentence is a sentence of a retrieved chunk, cited by that chunk's id — so it is also
the baseline the grounding gate is calibrated on. What it does:

1. split every retrieved chunk into sentences (:mod:`include.content.sentences`), keep the quotable ones;
2. embed them and the brief's topic with the knowledge base's MiniLM (same model, same space as the store);
3. pick greedily by similarity to the topic, skipping near-duplicates (cosine ≥ ``DUPLICATE``: overlapping
   chunks repeat sentences) and taking at most ``max_per_chunk`` per chunk, until the brief's length — or
   until the next candidate is less than ``RELATIVE_FLOOR`` × as similar as the best one: a shorter draft
   beats padding it with off-topic sentences (a draft left under ``min_sentences`` is quarantined, visibly);
4. order the picks as the sources read (chunk rank, then position inside the chunk), so a paragraph from
   one section stays in its order.

The output has the same shape as the LLM's structured answer (title, sentences with citations), so the
gate and the publisher do not care who wrote it.
"""

from __future__ import annotations

from typing import Any

from include.content import sentences as sent

#: Two candidate sentences this similar say the same thing (chunk overlap repeats text verbatim).
DUPLICATE = 0.92
#: Candidates below this share of the best candidate's similarity to the topic are off-topic. Measured on the
#: demo briefs: on-topic picks 0.27-0.75 of cosine with best 0.32-0.75; the off-topic ones that 0.4 removes
#: scored 0.08 (best 0.32) and 0.20 (best 0.66) — docs/content_generation.md.
RELATIVE_FLOOR = 0.4


def candidates(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quotable sentences of the retrieved chunks: text, chunk id, chunk rank, position in the chunk."""
    out, seen = [], set()
    for rank, hit in enumerate(hits):
        for pos, s in enumerate(sent.split(hit["body"])):
            if sent.quotable(s) and s not in seen:
                seen.add(s)
                out.append({"text": s, "chunk_id": hit["chunk_id"], "rank": rank, "pos": pos})
    return out


def compose(brief: dict[str, Any], hits: list[dict[str, Any]], *, n_sentences: int, max_per_chunk: int,
            embed: Any = None) -> dict[str, Any]:
    """``{"title", "sentences": [{"text", "citations": [chunk_id]}]}`` from ``hits`` for ``brief``.

    ``embed`` (texts → L2-normalised rows) defaults to the knowledge base's MiniLM.
    """
    import numpy as np

    if embed is None:
        from include.rag.embedding import embed
    cands = candidates(hits)
    title = brief["topic"][:1].upper() + brief["topic"][1:]
    if not cands:
        return {"title": title, "sentences": []}
    vectors = embed([brief["topic"]] + [c["text"] for c in cands])
    query, vecs = vectors[0], vectors[1:]
    sims = vecs @ query
    picked: list[int] = []
    per_chunk: dict[str, int] = {}
    order = np.argsort(-sims, kind="stable")
    floor = RELATIVE_FLOOR * float(sims[order[0]])
    for i in order:
        c = cands[int(i)]
        if float(sims[int(i)]) < floor:
            break
        if per_chunk.get(c["chunk_id"], 0) >= max_per_chunk:
            continue
        if picked and float(np.max(vecs[picked] @ vecs[int(i)])) >= DUPLICATE:
            continue
        picked.append(int(i))
        per_chunk[c["chunk_id"]] = per_chunk.get(c["chunk_id"], 0) + 1
        if len(picked) == n_sentences:
            break
    picked.sort(key=lambda i: (cands[i]["rank"], cands[i]["pos"]))
    return {"title": title,
            "sentences": [{"text": cands[i]["text"], "citations": [cands[i]["chunk_id"]],
                           "relevance": round(float(sims[i]), 4)} for i in picked]}
