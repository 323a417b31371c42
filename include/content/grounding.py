"""The grounding gate: what a draft must satisfy before anyone is asked to approve it.

Rules (Params in :class:`~include.content.config.ContentConfig`'s "Grounding gate" section), each failure a
reason in words:

* every sentence cites at least one chunk, and every citation is the id of a chunk *retrieved for this
  brief* (an id from elsewhere in the knowledge base, or an invented one, is a reason of its own);
* every sentence is **supported**: its MiniLM cosine similarity with the best-matching sentence (or the
  whole text) of a chunk it cites is ≥ ``min_support``. Similarity, not entailment: it catches claims the
  cited text does not talk about (the failure a retrieval-conditioned writer shows), not a negation of a
  sentence that is otherwise copied; an LLM judge through a connection is the stronger, costlier check
  (not built: docs/content_generation.md);
* ``min_sentences`` ≤ sentences, words ≤ ``max_words``, distinct cited chunks ≥ ``min_cited_chunks``;
* none of ``banned_terms`` (the same matcher as text_generation's gate).

A draft failing any rule is quarantined with all of its reasons and never reaches review or publishing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.content import sentences as sent


@dataclass(frozen=True)
class GateRules:
    min_support: float
    min_sentences: int
    max_words: int
    min_cited_chunks: int
    banned_terms: tuple[str, ...] = ()


def check(draft: dict[str, Any], hits: list[dict[str, Any]], rules: GateRules, *, embed: Any = None
          ) -> dict[str, Any]:
    """The verdict on ``draft``: ``reasons`` ([] = passes), per-sentence support, and summary numbers."""
    import numpy as np

    from include.textgen.quality import banned_pattern

    if embed is None:
        from include.rag.embedding import embed
    retrieved = {h["chunk_id"]: h["body"] for h in hits}
    sentences = [dict(s) for s in draft.get("sentences") or []]
    reasons: list[str] = []

    # Evidence: every sentence of every retrieved chunk, plus the chunk whole (a sentence may merge two).
    evidence: list[tuple[str, str]] = []
    for cid, body in retrieved.items():
        evidence += [(cid, s) for s in sent.split(body)] + [(cid, body)]
    texts = [s.get("text", "") for s in sentences]
    vectors = embed(texts + [e[1] for e in evidence]) if texts else np.zeros((0, 1))
    s_vecs, e_vecs = vectors[:len(texts)], vectors[len(texts):]
    owner = np.array([e[0] for e in evidence])

    for i, s in enumerate(sentences):
        cites = [str(c) for c in s.get("citations") or []]
        unknown = [c for c in cites if c not in retrieved]
        valid = [c for c in cites if c in retrieved]
        support, best = 0.0, None
        if valid and len(evidence):
            mask = np.isin(owner, valid)
            sims = e_vecs[mask] @ s_vecs[i]
            j = int(np.argmax(sims))
            support, best = float(sims[j]), str(owner[mask][j])
        s.update(citations=cites, support=round(support, 4), supported_by=best, unknown_citations=unknown)
        label = f"sentence {i + 1}"
        if not cites:
            reasons.append(f"{label} cites no chunk")
        if unknown:
            reasons.append(f"{label} cites {', '.join(unknown)}, not among the chunks retrieved for this brief")
        if valid and support < rules.min_support:
            reasons.append(f"{label} is not supported by the chunks it cites (similarity {support:.2f} < "
                           f"min_support {rules.min_support})")

    body = " ".join(texts)
    n_words = sent.words(body)
    cited = sorted({c for s in sentences for c in s["citations"] if c in retrieved})
    if len(sentences) < rules.min_sentences:
        reasons.append(f"{len(sentences)} sentences, fewer than min_sentences {rules.min_sentences}")
    if n_words > rules.max_words:
        reasons.append(f"{n_words} words, more than max_words {rules.max_words}")
    if len(cited) < rules.min_cited_chunks:
        reasons.append(f"cites {len(cited)} retrieved chunks, fewer than min_cited_chunks {rules.min_cited_chunks}")
    banned = banned_pattern(rules.banned_terms)
    if banned is not None:
        found = sorted({m.group().lower() for m in banned.finditer(f"{draft.get('title', '')} {body}")})
        if found:
            reasons.append(f"contains banned terms: {', '.join(found)}")
    supports = [s["support"] for s in sentences]
    return {"reasons": reasons, "sentences": sentences, "words": n_words, "cited_chunks": cited,
            "min_support": round(min(supports), 4) if supports else 0.0,
            "mean_support": round(sum(supports) / len(supports), 4) if supports else 0.0}
