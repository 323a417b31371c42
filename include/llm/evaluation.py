"""Evaluation of a causal LM: held-out perplexity and seeded sampled generations from fixed prompts.

**Perplexity.** The held-out texts are packed exactly like the training data (:mod:`include.llm.packing`)
with the model's own tokenizer, up to ``max_blocks`` blocks are scored in fp32, and

* ``perplexity`` = exp(mean next-token NLL) — per token of *that* tokenizer;
* ``perplexity_word`` = exp(mean NLL × tokens per word of the held-out texts) — per whitespace word, the
  number that compares two models with different tokenizers on the same texts (each run trains its own
  BPE, so the champion's and the challenger's token perplexities are not comparable). The gate uses it.

**Generations.** Seeded nucleus samples (``eval_temperature``, ``eval_top_p``, ``eval_samples`` per prompt;
the same on every rerun) of ``max_new_tokens`` after each fixed prompt — what ``text_generation`` serves.
Greedy decoding of a small LM falls into loops whatever its perplexity (distinct-2 0.09 at 300 steps, where
samples reach 0.65-0.75), so greedy output would judge the decoder, not the model. Then

* ``repetition_rate``: per generation, the share of 3-grams (of words and punctuation marks) that repeat an earlier 3-gram of the same
  generation (0 = none, → 1 = a loop), averaged over the prompts;
* ``distinct_1`` / ``distinct_2``: unique uni-/bigrams (same units) over all generations ÷ all of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from include.llm import packing


def block_nll(model: Any, blocks: np.ndarray, batch_size: int = 16, device: str = "cpu") -> tuple[float, int]:
    """(sum of next-token NLL, number of predicted tokens) over ``blocks`` in fp32, no gradients."""
    import torch

    model.to(device).eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(blocks), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(blocks[i:i + batch_size], dtype=np.int64)).to(device)
            logits = model(input_ids=batch).logits.float()
            nll = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                    batch[:, 1:].reshape(-1), reduction="sum")
            total += float(nll)
            count += batch[:, 1:].numel()
    return total, count


def perplexity(model: Any, tokenizer: Any, texts: Sequence[str], block_size: int, max_blocks: int,
               device: str = "cpu") -> dict[str, float]:
    """Token- and word-level perplexity of ``model`` on ``texts`` (see the module docstring)."""
    stream = packing.encode(tokenizer, texts)
    blocks = packing.pack(stream, block_size)[:max_blocks]
    if len(blocks) == 0:
        raise ValueError(f"the held-out texts ({len(texts)}) are shorter than one block of {block_size} tokens")
    nll, count = block_nll(model, blocks, device=device)
    words = sum(len(t.split()) for t in texts)
    tokens_per_word = len(stream) / max(words, 1)
    mean = nll / count
    return {"perplexity": float(np.exp(mean)), "perplexity_word": float(np.exp(mean * tokens_per_word)),
            "nll_per_token": mean, "tokens_per_word": tokens_per_word, "eval_blocks": float(len(blocks)),
            "eval_tokens": float(count)}


def generate(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int,
             device: str = "cpu", *, temperature: float = 0.0, top_p: float = 1.0, samples: int = 1,
             seed: int = 0) -> list[str]:
    """Continuations (the new text only) of each prompt, ``samples`` per prompt, prompt by prompt.

    ``temperature`` 0 is greedy (one continuation per prompt whatever ``samples`` says). Otherwise nucleus
    sampling, reseeded per prompt with ``seed + i`` so a prompt's samples do not depend on the others:
    the same model, prompts and seed give the same texts on every rerun.
    """
    import torch

    model.to(device).eval()
    window = int(getattr(model.config, "n_positions", 1024))
    sampled = temperature > 0
    options = {"do_sample": True, "temperature": temperature, "top_p": top_p,
               "num_return_sequences": samples} if sampled else {"do_sample": False}
    out = []
    with torch.no_grad():
        for i, prompt in enumerate(prompts):
            ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
            new = min(max_new_tokens, max(1, window - ids.shape[1]))
            if sampled:
                torch.manual_seed(seed + i)
            gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new,
                                 pad_token_id=tokenizer.eos_token_id, **options)
            out.extend(tokenizer.decode(row[ids.shape[1]:], skip_special_tokens=True) for row in gen)
    return out


_UNIT = re.compile(r"\w+|[^\w\s]")


def units(text: str) -> list[str]:
    """Words and punctuation marks as separate units (``",,,,"`` is four units, not one word)."""
    return _UNIT.findall(text)


def _ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


def repetition_rate(texts: Sequence[str], n: int = 3) -> float:
    """Mean over ``texts`` of the share of word ``n``-grams that repeat an earlier one in the same text."""
    rates = []
    for text in texts:
        grams = _ngrams(units(text), n)
        rates.append(1 - len(set(grams)) / len(grams) if grams else 0.0)
    return float(np.mean(rates)) if rates else 0.0


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique word ``n``-grams over all ``texts`` ÷ all of them (0 when there are none)."""
    grams = [g for t in texts for g in _ngrams(units(t), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def generation_metrics(texts: Sequence[str]) -> dict[str, float]:
    return {"repetition_rate": repetition_rate(texts), "distinct_1": distinct_n(texts, 1),
            "distinct_2": distinct_n(texts, 2), "empty_generations": float(sum(not t.strip() for t in texts))}
