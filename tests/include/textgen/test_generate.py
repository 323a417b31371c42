"""Batched, left-padded KV-cache generation equals one-prompt-at-a-time greedy; sampling is seeded.

A small GPT-2 with a BPE tokenizer trained here on the shipped clothing reviews (random weights: the
equality is about padding and the cache, not about quality).
"""

from __future__ import annotations

import math

import pytest

from include.platform.errors import ConfigError
from include.textgen import generate

PROMPTS = ["this dress is", "i love the fabric of this top, it is so soft and", "the", "great",
           "i ordered a size small and it fits well but the color is not what i expected from the photos",
           "the sleeves are", "runs large"]


@pytest.fixture(scope="module")
def lm():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from include.llm import tokenizer as tk
    from include.llm.corpus import shipped_texts

    tok = tk.train_bpe(shipped_texts()[:600], 400)
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=48, n_embd=32, n_layer=2, n_head=2,
                     bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
    return GPT2LMHeadModel(cfg), tok


def test_batched_left_padded_greedy_equals_one_by_one(lm):
    model, tok = lm
    batched = generate.generate(model, tok, PROMPTS, max_new_tokens=12, batch_size=3)
    single = generate.generate_one_by_one(model, tok, PROMPTS, max_new_tokens=12)
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.n_new_tokens for g in batched] == [g.n_new_tokens for g in single]
    assert all(g.n_new_tokens > 0 for g in batched)
    # Results come back in the caller's order (batches were formed by length): prompt i's own token count.
    # (the longest prompt keeps its last 48 - 12 tokens and is flagged)
    assert [g.n_prompt_tokens for g in batched] == [min(36, len(tok(p, add_special_tokens=False)["input_ids"]))
                                                    for p in PROMPTS]
    assert [g.prompt_truncated for g in batched] == [p == PROMPTS[4] for p in PROMPTS]


def test_greedy_is_deterministic_and_sampling_is_seeded(lm):
    model, tok = lm
    a = generate.generate(model, tok, PROMPTS, max_new_tokens=10, batch_size=4)
    b = generate.generate(model, tok, PROMPTS, max_new_tokens=10, batch_size=4)
    assert [g.text for g in a] == [g.text for g in b]
    s1 = generate.generate(model, tok, PROMPTS, max_new_tokens=10, temperature=1.0, top_p=0.95, seed=3, batch_size=4)
    s2 = generate.generate(model, tok, PROMPTS, max_new_tokens=10, temperature=1.0, top_p=0.95, seed=3, batch_size=4)
    s3 = generate.generate(model, tok, PROMPTS, max_new_tokens=10, temperature=1.0, top_p=0.95, seed=4, batch_size=4)
    assert [g.text for g in s1] == [g.text for g in s2]
    assert [g.text for g in s1] != [g.text for g in s3]


def test_long_prompts_keep_their_last_tokens_and_a_too_large_budget_is_refused(lm):
    model, tok = lm
    long = " ".join(["the dress is lovely"] * 30)
    (g,) = generate.generate(model, tok, [long], max_new_tokens=8)
    assert g.prompt_truncated and g.n_prompt_tokens == 48 - 8
    with pytest.raises(ConfigError, match="lower max_new_tokens"):
        generate.generate(model, tok, ["hi"], max_new_tokens=46)


def test_conditional_perplexity_matches_a_direct_computation(lm):
    import torch

    model, tok = lm
    prompt, text = "this dress is", " lovely and soft"
    (ppl,) = generate.conditional_perplexity(model, tok, [prompt], [text])
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    t = tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([p + t])).logits[0]
    logp = torch.log_softmax(logits, -1)
    nll = -sum(float(logp[len(p) - 1 + i, tok_id]) for i, tok_id in enumerate(t)) / len(t)
    assert ppl == pytest.approx(math.exp(nll), rel=1e-4)
    # batched with a longer neighbour (right padding) gives the same number; empty text scores None
    both = generate.conditional_perplexity(model, tok, [prompt, PROMPTS[4]], [text, " and more words here"])
    assert both[0] == pytest.approx(ppl, rel=1e-4)
    assert generate.conditional_perplexity(model, tok, [prompt], [""]) == [None]
