"""The grounding gate and the extractive composer, with the real offline MiniLM (no fakes).

Chunks are written by hand in the shape retrieval returns (``chunk_id``, ``body`` ...), from the demo
handbook's planted passages, so the numbers here are the ones the DAG sees.
"""

from __future__ import annotations

import pytest

from include.content.compose import candidates, compose
from include.content.grounding import GateRules, check

HITS = [
    {"chunk_id": "c-backup", "source": "handbook", "path": "operations.md", "heading": "Backups", "score": 0.03,
     "body": "The vector store file is copied to the cold-storage bucket every six hours. Restore drills run on "
             "the first Monday of each month, and a drill that takes longer than twenty minutes opens a ticket."},
    {"chunk_id": "c-escalate", "source": "handbook", "path": "operations.md", "heading": "Escalation",
     "score": 0.02,
     "body": "If the nightly ingest fails twice in a row, page the data-platform on-call engineer through the "
             "#kb-oncall channel. The escalation window is 45 minutes; after that the incident is raised to the "
             "head of platform engineering."},
    {"chunk_id": "c-overlap", "source": "handbook", "path": "operations.md", "heading": "Backups", "score": 0.01,
     "body": "bucket every six hours. Restore drills run on the first Monday of each month, and a drill that takes "
             "longer than twenty minutes opens a ticket.\n\n```python\nrestore(now=True)\n```\n- Short one."},
]
RULES = GateRules(min_support=0.6, min_sentences=2, max_words=1200, min_cited_chunks=1,
                  banned_terms=("lorem ipsum", "https://"))


def _draft(*sentences):
    return {"title": "Backups", "sentences": [{"text": t, "citations": list(c)} for t, c in sentences]}


def test_verbatim_and_paraphrased_sentences_pass():
    verdict = check(_draft(
        ("The vector store file is copied to the cold-storage bucket every six hours.", ["c-backup"]),
        ("Every six hours, a copy of the vector store file goes to the cold storage bucket.", ["c-backup"]),
        ("If ingestion fails two nights running, page the on-call data-platform engineer in #kb-oncall.",
         ["c-escalate", "c-backup"])), HITS, RULES)
    assert verdict["reasons"] == []
    supports = [s["support"] for s in verdict["sentences"]]
    assert supports[0] == pytest.approx(1.0, abs=1e-3)
    assert 0.6 <= min(supports[1:]) < 1.0, supports
    assert verdict["sentences"][2]["supported_by"] == "c-escalate"
    assert verdict["cited_chunks"] == ["c-backup", "c-escalate"] and verdict["words"] > 20


def test_unsupported_claim_unknown_citation_and_missing_citation_are_each_a_reason():
    verdict = check(_draft(
        ("The vector store file is copied to the cold-storage bucket every six hours.", ["c-backup"]),
        ("Our quarterly revenue grew by twelve percent thanks to the new sales team.", ["c-backup"]),
        ("Restore drills run on the first Monday of each month.", ["c-invented"]),
        ("The escalation window is 45 minutes.", [])), HITS, RULES)
    reasons = verdict["reasons"]
    assert len(reasons) == 3, reasons
    assert reasons[0].startswith("sentence 2 is not supported by the chunks it cites (similarity ")
    assert verdict["sentences"][1]["support"] < 0.3
    assert reasons[1] == "sentence 3 cites c-invented, not among the chunks retrieved for this brief"
    assert reasons[2] == "sentence 4 cites no chunk"
    assert verdict["min_support"] == 0.0  # uncited sentences have no support


def test_length_citation_count_and_banned_term_rules():
    one = _draft(("The vector store file is copied to the cold-storage bucket every six hours. See "
                  "https://example.com for lorem ipsum.", ["c-backup"]))
    rules = GateRules(min_support=0.0, min_sentences=2, max_words=5, min_cited_chunks=2,
                      banned_terms=RULES.banned_terms)
    reasons = check(one, HITS, rules)["reasons"]
    assert "1 sentences, fewer than min_sentences 2" in reasons
    assert any(r == "18 words, more than max_words 5" for r in reasons), reasons
    assert "cites 1 retrieved chunks, fewer than min_cited_chunks 2" in reasons
    assert "contains banned terms: https://, lorem ipsum" in reasons


def test_composer_quotes_relevant_sentences_each_cited_in_source_order():
    cands = candidates(HITS)
    texts = [c["text"] for c in cands]
    # the overlap's leading fragment, the code block and the 2-word list item are not quotable
    assert "bucket every six hours." not in texts and not any("restore(" in t or t == "Short one." for t in texts)
    draft = compose({"topic": "how the vector store is backed up and restore drills"}, HITS, n_sentences=2,
                    max_per_chunk=2)
    assert draft["title"].startswith("How the vector store")
    assert [s["citations"] for s in draft["sentences"]] == [["c-backup"], ["c-backup"]]
    assert [s["text"] for s in draft["sentences"]] == [
        "The vector store file is copied to the cold-storage bucket every six hours.",
        "Restore drills run on the first Monday of each month, and a drill that takes longer than twenty "
        "minutes opens a ticket."]
    # at most one per chunk; the overlapping chunk's copy of the drill sentence is a duplicate, not a pick
    capped = compose({"topic": "restore drills and backups"}, HITS, n_sentences=3, max_per_chunk=1)
    cited = [s["citations"][0] for s in capped["sentences"]]
    assert cited[0] == "c-backup" and len(cited) == len(set(cited)) and "c-overlap" not in cited


def test_composer_stops_before_off_topic_sentences():
    """Asked for 4 sentences about backups, it returns the 2 on topic, not the escalation ones as padding."""
    draft = compose({"topic": "backups of the vector store and restore drills"}, HITS, n_sentences=4,
                    max_per_chunk=2)
    assert [s["citations"] for s in draft["sentences"]] == [["c-backup"], ["c-backup"]], draft
    relevance = [s["relevance"] for s in draft["sentences"]]
    assert min(relevance) >= 0.4 * max(relevance)
    assert check(draft, HITS, RULES)["reasons"] == []
