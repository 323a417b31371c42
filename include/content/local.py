"""The offline writer: ``textgen@champion`` (the generative-core model) continues a prompt built from the
retrieved chunks and the brief; each generated sentence is then cited with the retrieved chunk it is most
similar to.

Why it looks like this:

* **The prompt** is plain text, context first and the brief last: the retrieved chunks (rank order,
  ``heading: body``), a blank line, then the brief's topic as a heading line (``Topic:``). A small
  causal LM continues the *end* of its prompt, so the brief sits right before the continuation; the
  hosted writer's JSON-lines prompt (:func:`include.content.hosted.build_prompt`) suits an instruction
  model, not a continuation model.
* **The window**: the prompt gets the model's window minus the new tokens
  (:func:`include.textgen.generate.prompt_budget`). The brief is always kept; the context is cut **from
  its end** (the lowest-ranked chunks go first, then the tail of the last one kept), so ``context_tokens``
  and ``context_truncated`` say how much evidence the model actually saw.
* **New tokens** come from the brief's length (``tokens_per_sentence`` × sentences wanted), capped at half
  the window so the context keeps the other half.
* **Generation** is :func:`include.textgen.generate.generate` (the code ``text_generation`` uses): greedy
  when ``temperature`` is 0, else seeded sampling, so a rerun writes the same text.
* **Sentences**: :func:`include.textgen.postprocess.clean` (whitespace, repeated sentences — the small
  model's loops), sentence case (the shipped model writes lower-case reviews; the gate's splitter starts a
  sentence at a capital), then :func:`include.content.sentences.split` (the gate's own splitter).
* **Citations**: the model cannot emit citation markers (it was trained on reviews, with no ids in its
  prompt format), so a citation here is an *attribution after the fact*: the retrieved chunk whose best
  sentence (or whole text) is most similar to the generated sentence under MiniLM — the same embedder and
  the same evidence the grounding gate uses, so a sentence's ``similarity`` equals the support the gate
  computes. The gate then decides as for every other mode: a sentence nothing retrieved resembles enough is
  unsupported and quarantines the draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from include.content import sentences as sent

#: A lower-case letter starting the text or following a sentence end.
_SENTENCE_START = re.compile(r"(^|[.!?][\"')\]]?\s+)([a-z])")
#: Separates the context from the brief line (a paragraph break: the continuation starts a new paragraph).
BRIEF_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class LocalPrompt:
    text: str
    context_tokens: int  # context tokens kept
    context_total_tokens: int  # context tokens before truncation
    brief_tokens: int

    @property
    def context_truncated(self) -> bool:
        return self.context_tokens < self.context_total_tokens


def brief_line(brief: dict[str, Any]) -> str:
    """The brief as the prompt's last line, ``Topic:``: what the continuation is about.

    Audience and tone are left out: a continuation model cannot follow them, and with the shipped model's
    small vocabulary they cost window tokens the context needs.
    """
    topic = brief["topic"].strip().rstrip(".:")
    return f"{topic[:1].upper()}{topic[1:]}:"


def context_text(hits: list[dict[str, Any]]) -> str:
    """The retrieved chunks in rank order, each ``heading: body`` (code blocks and table rows dropped)."""
    parts = []
    for h in hits:
        body = " ".join(sent.split(h["body"]))
        if body:
            parts.append(f"{h['heading']}: {body}" if h.get("heading") else body)
    return "\n".join(parts)


def build_prompt(tokenizer: Any, brief: dict[str, Any], hits: list[dict[str, Any]], budget: int) -> LocalPrompt:
    """Context then brief, within ``budget`` prompt tokens: the brief whole, the context cut from its end."""
    tail = BRIEF_SEPARATOR + brief_line(brief)
    tail_ids = tokenizer(tail, add_special_tokens=False)["input_ids"]
    ctx = context_text(hits)
    ctx_ids = tokenizer(ctx, add_special_tokens=False)["input_ids"] if ctx else []
    room = max(budget - len(tail_ids), 0)
    if len(ctx_ids) <= room:
        return LocalPrompt(ctx + tail, len(ctx_ids), len(ctx_ids), len(tail_ids))
    kept = tokenizer.decode(ctx_ids[:room], skip_special_tokens=True) if room else ""
    # Decoding a prefix and re-encoding it can merge differently at the cut: drop tokens until it fits.
    keep = room
    while keep and len(tokenizer(kept + tail, add_special_tokens=False)["input_ids"]) > budget:
        keep -= 1
        kept = tokenizer.decode(ctx_ids[:keep], skip_special_tokens=True)
    return LocalPrompt(kept.rstrip() + tail, keep, len(ctx_ids), len(tail_ids))


def new_token_budget(window: int, n_sentences: int, tokens_per_sentence: int) -> int:
    """New tokens for a brief: ``tokens_per_sentence`` per sentence wanted, at most half the model's window."""
    return max(1, min(n_sentences * tokens_per_sentence, window // 2))


def assign_citations(texts: list[str], hits: list[dict[str, Any]], *, embed: Any = None) -> list[dict[str, Any]]:
    """Each sentence with ``citations`` = [the retrieved chunk most similar to it] and that ``similarity``.

    Evidence is the gate's: every sentence of every retrieved chunk plus the chunk whole; the chunk owning
    the most similar piece is cited. No retrieved chunk → no citation (the gate names the sentence).
    """
    import numpy as np

    if embed is None:
        from include.rag.embedding import embed
    evidence = [(h["chunk_id"], s) for h in hits for s in [*sent.split(h["body"]), h["body"]]]
    if not texts:
        return []
    if not evidence:
        return [{"text": t, "citations": [], "similarity": 0.0} for t in texts]
    vectors = embed(texts + [e[1] for e in evidence])
    sims = vectors[len(texts):] @ vectors[:len(texts)].T  # [evidence, sentences]
    best = np.argmax(sims, axis=0)
    return [{"text": t, "citations": [evidence[int(best[i])][0]], "similarity": round(float(sims[best[i], i]), 4)}
            for i, t in enumerate(texts)]


def to_sentences(raw: str) -> tuple[list[str], tuple[str, ...]]:
    """The generation's sentences after post-processing, and the steps applied.

    :func:`include.textgen.postprocess.clean` (whitespace, repeated sentences), then sentence case (the
    shipped model writes lower-case reviews, and the gate's splitter starts a sentence at a capital), then
    :func:`include.content.sentences.split`.
    """
    from include.textgen.postprocess import clean

    cleaned = clean(raw)
    text = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), cleaned.text)
    steps = cleaned.steps + (("sentence_case",) if text != cleaned.text else ())
    return sent.split(text), steps


def write(model: Any, tokenizer: Any, brief: dict[str, Any], hits: list[dict[str, Any]], n_sentences: int, *,
          tokens_per_sentence: int, temperature: float, top_p: float, seed: int, device: str = "cpu",
          embed: Any = None) -> dict[str, Any]:
    """The draft for ``brief``: title, cited sentences, the raw generation and how the prompt was cut."""
    from include.textgen import generate

    size = generate.window(model)
    max_new = new_token_budget(size, n_sentences, tokens_per_sentence)
    prompt = build_prompt(tokenizer, brief, hits, generate.prompt_budget(model, max_new))
    (gen,) = generate.generate(model, tokenizer, [prompt.text], max_new_tokens=max_new, temperature=temperature,
                               top_p=top_p, seed=seed, batch_size=1, device=device)
    texts, steps = to_sentences(gen.text)
    title = brief["topic"][:1].upper() + brief["topic"][1:]
    return {"title": title, "sentences": assign_citations(texts, hits, embed=embed),
            "generated_text": gen.text, "citation_method": "nearest retrieved chunk (MiniLM), assigned after "
            "generation: the local model emits no citations",
            "generation": {"window": size, "max_new_tokens": max_new, "new_tokens": gen.n_new_tokens,
                           "finish_reason": gen.finish_reason, "prompt_tokens": gen.n_prompt_tokens,
                           "context_tokens": prompt.context_tokens,
                           "context_total_tokens": prompt.context_total_tokens,
                           "context_truncated": prompt.context_truncated, "postprocess": list(steps),
                           "temperature": temperature, "top_p": top_p, "seed": seed}}
