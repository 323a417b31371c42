"""The local (offline) writer's pieces with real parts: a BPE tokenizer trained on the shipped reviews, a small
GPT-2, and the offline MiniLM the gate uses (no fakes).

* the prompt is context then brief; within a budget the brief is kept whole and the context is cut from its
  end (lowest-ranked chunk first);
* new tokens follow the brief's length, at most half the window;
* each sentence cites the retrieved chunk most similar to it, and that similarity is exactly the support the
  grounding gate then computes;
* the writer (generation through include.textgen.generate) is deterministic when greedy.
"""

from __future__ import annotations

import pytest

from include.content import local
from include.content.grounding import GateRules, check
from tests.include.content.test_grounding import HITS

BRIEF = {"brief_id": "kb-backups", "topic": "how the knowledge base is backed up", "audience": "platform engineers",
         "tone": "plain and direct", "length": "short"}
RULES = GateRules(min_support=0.6, min_sentences=1, max_words=1200, min_cited_chunks=1)


@pytest.fixture(scope="module")
def tok():
    from include.llm import tokenizer as tk
    from include.llm.corpus import shipped_texts

    return tk.train_bpe(shipped_texts()[:600], 400)


@pytest.fixture(scope="module")
def model(tok):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                     bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
    return GPT2LMHeadModel(cfg)


def _n(tok, text: str) -> int:
    return len(tok(text, add_special_tokens=False)["input_ids"])


def test_prompt_is_context_then_brief_and_fits_untouched_when_there_is_room(tok):
    prompt = local.build_prompt(tok, BRIEF, HITS, budget=10_000)
    assert not prompt.context_truncated and prompt.context_tokens == prompt.context_total_tokens > 0
    assert prompt.text.startswith("Backups: The vector store file is copied")
    assert prompt.text.endswith("\n\nHow the knowledge base is backed up:")
    assert "```" not in prompt.text and "restore(now=True)" not in prompt.text  # code blocks are not context
    assert prompt.text.index("Escalation:") < prompt.text.index("page the data-platform")


def test_prompt_keeps_the_brief_and_cuts_the_context_from_its_end(tok):
    full = local.build_prompt(tok, BRIEF, HITS, budget=10_000)
    budget = full.brief_tokens + 20
    prompt = local.build_prompt(tok, BRIEF, HITS, budget=budget)
    assert _n(tok, prompt.text) <= budget
    assert prompt.context_truncated and 0 < prompt.context_tokens <= 20 < prompt.context_total_tokens
    assert prompt.text.endswith(local.BRIEF_SEPARATOR + local.brief_line(BRIEF))
    context = prompt.text[: -len(local.BRIEF_SEPARATOR + local.brief_line(BRIEF))]
    assert full.text.startswith(context) and "Escalation" not in context  # the top-ranked chunk's start survives
    # No room for any context: the brief alone.
    bare = local.build_prompt(tok, BRIEF, HITS, budget=full.brief_tokens)
    assert bare.context_tokens == 0 and bare.text == local.BRIEF_SEPARATOR + local.brief_line(BRIEF)


def test_new_tokens_follow_the_length_and_leave_half_the_window_to_the_prompt():
    assert local.new_token_budget(1024, 3, 24) == 72
    assert local.new_token_budget(1024, 8, 24) == 192
    assert local.new_token_budget(128, 8, 24) == 64
    assert local.new_token_budget(64, 5, 24) == 32


def test_each_sentence_cites_the_most_similar_chunk_with_the_support_the_gate_computes():
    texts = ["The vector store is copied to cold storage every six hours.",
             "When the nightly ingest fails twice, page the on-call engineer in #kb-oncall.",
             "This dress runs small and the fabric is very soft."]
    cited = local.assign_citations(texts, HITS)
    assert [c["citations"] for c in cited[:2]] == [["c-backup"], ["c-escalate"]]
    assert all(c["similarity"] >= 0.6 for c in cited[:2]) and cited[2]["similarity"] < 0.3, cited
    verdict = check({"title": "t", "sentences": cited}, HITS, RULES)
    assert [s["support"] for s in verdict["sentences"]] == pytest.approx([c["similarity"] for c in cited], abs=1e-3)
    (reason,) = verdict["reasons"]
    assert reason.startswith("sentence 3 is not supported by the chunks it cites")
    assert local.assign_citations([], HITS) == []
    assert local.assign_citations(["Anything at all."], []) == [
        {"text": "Anything at all.", "citations": [], "similarity": 0.0}]


def test_postprocessing_drops_repeated_sentences_and_splits_like_the_gate():
    texts, steps = local.to_sentences("  it is so soft.  it is so soft. the fit is   true to size! and more")
    assert texts == ["It is so soft.", "The fit is true to size!", "And more"]
    assert steps == ("dedupe", "sentence_case")
    assert local.to_sentences("Already. Cased.") == (["Already.", "Cased."], ())


def test_write_generates_within_the_window_deterministically_and_cites_only_retrieved_chunks(model, tok):
    first = local.write(model, tok, BRIEF, HITS, 3, tokens_per_sentence=24, temperature=0.0, top_p=1.0, seed=7)
    again = local.write(model, tok, BRIEF, HITS, 3, tokens_per_sentence=24, temperature=0.0, top_p=1.0, seed=7)
    assert first == again
    gen = first["generation"]
    assert gen["window"] == 64 and gen["max_new_tokens"] == 32 and gen["context_truncated"]
    assert gen["prompt_tokens"] + gen["max_new_tokens"] <= 64 and 0 < gen["new_tokens"] <= 32
    assert first["generated_text"].strip() and first["sentences"]
    assert {c for s in first["sentences"] for c in s["citations"]} <= {h["chunk_id"] for h in HITS}
    sampled = [local.write(model, tok, BRIEF, HITS, 3, tokens_per_sentence=24, temperature=1.0, top_p=0.9,
                           seed=s)["generated_text"] for s in (1, 1, 2)]
    assert sampled[0] == sampled[1] != sampled[2]
