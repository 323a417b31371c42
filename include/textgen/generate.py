"""Local generation with a registry causal LM: sorted by length, left-padded batches, KV cache.

Why each piece:

* **Sorted by prompt length**, then cut into batches: a batch is padded to its longest prompt, so
  similar lengths waste the least compute on padding.
* **Left padding** (``tokenizer.padding_side = "left"``): every row's last real token sits at the same
  position, so the next token of all rows is read from the same column. The attention mask hides the
  pads, and transformers' GPT-2 derives position ids from that mask, so a padded row computes what it
  would alone (a unit test checks batched greedy output equals one-prompt-at-a-time output).
* **KV cache** (``model.generate(use_cache=True)``): each step feeds one new token per row and reuses
  the keys/values of everything before it, instead of re-encoding the whole sequence every step.
* **Greedy** (``temperature == 0``) is deterministic. **Sampling** is seeded per batch from ``seed`` and
  the batch's first global index, so the same prompts, chunking and seed give the same text on a rerun.

Prompts longer than the model's window minus ``max_new_tokens`` keep their *last* tokens (the part the
continuation follows) and are flagged ``prompt_truncated``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from include.platform.errors import ConfigError

#: A prompt keeps at least this many tokens; a max_new_tokens that leaves less room is a config error.
MIN_PROMPT_TOKENS = 4


@dataclass(frozen=True)
class Generation:
    text: str  # the new text only (special tokens dropped), before post-processing
    n_prompt_tokens: int
    n_new_tokens: int
    prompt_truncated: bool
    finish_reason: str  # "eos" | "length"
    batch_seconds: float  # wall time of the generate() call this prompt was part of


def window(model: Any) -> int:
    cfg = model.config
    return int(getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", 1024))


def prompt_budget(model: Any, max_new_tokens: int) -> int:
    """How many prompt tokens fit beside ``max_new_tokens`` in the model's window."""
    room = window(model) - max_new_tokens
    if room < MIN_PROMPT_TOKENS:
        raise ConfigError(f"max_new_tokens {max_new_tokens} leaves {room} prompt tokens in the model's "
                          f"{window(model)}-token window", f"lower max_new_tokens below {window(model) - MIN_PROMPT_TOKENS}")
    return room


def encode(tokenizer: Any, prompts: Sequence[str], budget: int) -> list[tuple[list[int], bool]]:
    """Token ids of each prompt (the last ``budget`` when longer) and whether it was truncated."""
    out = []
    for ids in tokenizer(list(prompts), add_special_tokens=False)["input_ids"]:
        if not ids:  # a prompt of only characters the tokenizer drops: start from end-of-text
            ids = [tokenizer.eos_token_id]
        out.append((ids[-budget:], len(ids) > budget))
    return out


def generate(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int, temperature: float = 0.0,
             top_p: float = 1.0, seed: int = 0, batch_size: int = 16, device: str = "cpu",
             index_offset: int = 0) -> list[Generation]:
    """One :class:`Generation` per prompt, in the order given (batched internally by length)."""
    import torch

    model.to(device).eval()
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    encoded = encode(tokenizer, prompts, prompt_budget(model, max_new_tokens))
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i][0]), i))
    results: list[Generation | None] = [None] * len(encoded)
    sample = temperature > 0
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            longest = max(len(encoded[i][0]) for i in idx)
            input_ids = torch.full((len(idx), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), longest), dtype=torch.long)
            for row, i in enumerate(idx):  # left padding: real tokens flush right
                ids = encoded[i][0]
                input_ids[row, longest - len(ids):] = torch.tensor(ids, dtype=torch.long)
                mask[row, longest - len(ids):] = 1
            kwargs: dict[str, Any] = {"do_sample": sample}
            if sample:
                torch.manual_seed(seed + index_offset + start)
                kwargs |= {"temperature": float(temperature), "top_p": float(top_p), "top_k": 0}
            began = time.perf_counter()
            out = model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                                 max_new_tokens=max_new_tokens, use_cache=True, pad_token_id=pad,
                                 eos_token_id=eos, **kwargs)
            seconds = time.perf_counter() - began
            new = out[:, longest:].cpu()
            for row, i in enumerate(idx):
                ids = new[row].tolist()
                stopped = eos in ids
                ids = ids[: ids.index(eos)] if stopped else ids
                results[i] = Generation(text=tokenizer.decode(ids, skip_special_tokens=True),
                                        n_prompt_tokens=len(encoded[i][0]), n_new_tokens=len(ids),
                                        prompt_truncated=encoded[i][1], finish_reason="eos" if stopped else "length",
                                        batch_seconds=seconds)
    return [r for r in results if r is not None]


def generate_one_by_one(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int,
                        device: str = "cpu") -> list[Generation]:
    """Greedy, one prompt per call, no padding: the reference the batched path must equal."""
    return [g for p in prompts for g in generate(model, tokenizer, [p], max_new_tokens=max_new_tokens,
                                                 batch_size=1, device=device)]


def conditional_perplexity(model: Any, tokenizer: Any, prompts: Sequence[str], texts: Sequence[str], *,
                           batch_size: int = 16, device: str = "cpu") -> list[float | None]:
    """exp(mean NLL of each text's tokens given its prompt) under ``model``; None for an empty text.

    The text is re-tokenized with ``model``'s tokenizer (a hosted LLM's output has no token ids here);
    prompt and text together are cut to the model's window from the left (the text's tokens are kept).
    Right padding with the pads masked out of attention and of the loss.
    """
    import math

    import torch

    model.to(device).eval()
    size = window(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    p_ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    t_ids = tokenizer([t if t else "" for t in texts], add_special_tokens=False)["input_ids"]
    rows: list[tuple[int, list[int], int]] = []  # (index, ids, number of scored tokens)
    for i, (p, t) in enumerate(zip(p_ids, t_ids, strict=True)):
        if not t:
            continue
        t = t[: size - 1]
        context = (p or [tokenizer.eos_token_id])[-(size - len(t)):]
        rows.append((i, context + t, len(t)))
    out: list[float | None] = [None] * len(texts)
    with torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            longest = max(len(ids) for _, ids, _ in batch)
            input_ids = torch.full((len(batch), longest), pad, dtype=torch.long)
            mask = torch.zeros_like(input_ids)
            labels = torch.full_like(input_ids, -100)
            for row, (_, ids, scored) in enumerate(batch):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                mask[row, : len(ids)] = 1
                labels[row, len(ids) - scored: len(ids)] = torch.tensor(ids[len(ids) - scored:])
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits.float().cpu()
            nll = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:],
                                                    ignore_index=-100, reduction="none")
            for row, (i, _, scored) in enumerate(batch):
                out[i] = float(math.exp(float(nll[row].sum()) / scored))
    return out
