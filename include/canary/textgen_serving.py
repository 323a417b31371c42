"""Serving kind ``textgen``: a registry causal LM answers prompts, and every answer is graded by the quality gate.

A text generator has no label to be right or wrong about, so the canary grades what ``text_generation``
would publish: each request's output goes through the same post-processing
(:func:`include.textgen.postprocess.clean`) and the same quality gate (:mod:`include.textgen.quality`:
length bounds, repetition, perplexity given the prompt, banned terms) as the DAG that serves this
model day to day. The server answers ``[{"label": "pass"|"fail", "score": perplexity, "text", "reasons",
"repetition", "perplexity"}]``; every replayed prompt carries the label ``pass``, so the router's grading
(:mod:`include.canary.router`) counts the **quality-gate pass rate** per arm and the analysis's
two-proportion z-test compares it with the champion's (``quality_vs_champion_ztest``).

**Both arms are scored by the same reference model** — the champion's files, handed to both servers
(``reference_dir``): a model scoring its own output under itself would always find it probable, and two
arms scored by different judges could not be compared. Generation is
:func:`include.textgen.generate.generate` (the batched, left-padded KV-cache path) with a seeded sampler,
so the same prompt gives the same text on both a rerun and a retry.

Options (``--options`` JSON of the server; built by :meth:`include.canary.config.CanaryConfig.textgen_options`):
``reference_dir``, ``max_new_tokens``, ``temperature``, ``top_p``, ``seed``, ``threads`` and the gate
rules ``min_chars``, ``max_chars``, ``max_repetition``, ``max_perplexity``, ``banned_terms``; an absent
one takes :class:`include.textgen.config.GenerationConfig`'s default (one home for every default).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KIND = "textgen"
#: Decoding and gate options a canary server takes (GenerationConfig field names).
OPTION_FIELDS = ("max_new_tokens", "temperature", "top_p", "seed", "min_chars", "max_chars", "max_repetition",
                 "max_perplexity", "banned_terms")
#: Architectures a ``textgen`` artifact declares in its ``config.json`` (transformers' causal-LM heads).
CAUSAL_LM_SUFFIXES = ("LMHeadModel", "ForCausalLM")


def is_causal_lm(config: dict[str, Any]) -> bool:
    """Whether a transformers ``config.json`` describes a causal LM (a text generator, not a classifier)."""
    return any(str(a).endswith(CAUSAL_LM_SUFFIXES) for a in config.get("architectures") or [])


def _settings(options: dict[str, Any]) -> dict[str, Any]:
    """The options with GenerationConfig's defaults for whatever is absent."""
    from include.textgen.config import GenerationConfig

    defaults = GenerationConfig()  # its defaults (banned_terms is a default_factory: read an instance)
    return {name: getattr(defaults, name) for name in OPTION_FIELDS} | {k: v for k, v in options.items() if k in OPTION_FIELDS}


def load(model_dir: Path, options: dict[str, Any] | None = None) -> Any:
    """The :class:`~include.canary.serving.Loaded` of a ``textgen`` version (model, reference, gate)."""
    import torch

    from include.canary.serving import Loaded, parse_texts
    from include.llm.pipeline import load_model_dir
    from include.textgen import generate, postprocess, quality

    options = dict(options or {})
    torch.set_num_threads(int(options.get("threads") or 1))  # two servers share the host's cores
    s = _settings(options)
    model, tokenizer = load_model_dir(model_dir)
    reference_dir = options.get("reference_dir")
    ref_model, ref_tokenizer = load_model_dir(reference_dir) if reference_dir else (model, tokenizer)
    rules = quality.GateRules(int(s["min_chars"]), int(s["max_chars"]), float(s["max_repetition"]),
                              float(s["max_perplexity"]), tuple(s["banned_terms"]))
    banned = quality.banned_pattern(rules.banned_terms)
    log.info("textgen %s: reference %s, decoding %s", model_dir, reference_dir or "itself", s)

    def predict(prompts: list[str]) -> list[dict[str, Any]]:
        gens = generate.generate(model, tokenizer, prompts, max_new_tokens=int(s["max_new_tokens"]),
                                 temperature=float(s["temperature"]), top_p=float(s["top_p"]), seed=int(s["seed"]),
                                 batch_size=len(prompts))
        texts = [postprocess.clean(g.text).text for g in gens]
        perplexities = generate.conditional_perplexity(ref_model, ref_tokenizer, prompts, texts)
        out = []
        for text, ppl in zip(texts, perplexities, strict=True):
            why = quality.reasons(text, ppl, rules, banned)
            out.append({"label": "fail" if why else "pass", "score": None if ppl is None else round(ppl, 2),
                        "text": text, "reasons": why, "perplexity": ppl, "repetition": round(quality.repetition(text), 4)})
        return out

    return Loaded(KIND, predict, parse_texts, ["this dress is"])
