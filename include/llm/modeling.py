"""Where the model comes from, and on what device and precision it trains.

* ``local:tiny-gpt2`` → a ``GPT2LMHeadModel`` built from a ``GPT2Config`` sized by the Params (default 4
  layers, 256 wide, 4 heads, 128 positions: ~4.8 M parameters with a 2,048-token vocabulary), fresh weights
  (seeded), no dropout (a few hundred steps on a small corpus underfit; dropout only slows them).
* ``textgen@champion`` / ``textgen/<n>`` → the registry version (sha256-verified download), its own tokenizer.
* an allow-listed hub id (``gpt2``, ``distilgpt2``) → ``AutoModelForCausalLM.from_pretrained`` and
  ``AutoTokenizer.from_pretrained`` exactly as transformers documents them; the tokenizer passes the
  vocabulary check (an offline hub gives an empty one).

Precision: ``auto`` uses bf16 autocast on a CUDA GPU with native bf16. On CPU it stays fp32 even where
bf16 is native (AMX tiles, :func:`bf16_native`): measured on this project's AMX CPU at the default size,
bf16 autocast was no faster than fp32 (docs/llm_fine_tuning.md; the matrices are too small for AMX to pay
for the casts). ``precision=bf16`` forces it. Weights, gradients and AdamW state stay fp32 either way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from include.llm import LOCAL_TINY_GPT2
from include.llm.config import is_registry_ref

if TYPE_CHECKING:
    import torch

    from include.llm.config import FineTuneConfig


def set_threads(threads: int) -> int:
    import torch

    torch.set_num_threads(max(1, threads))
    return torch.get_num_threads()


def pick_device(prefer: str = "auto") -> str:
    import torch

    return "cuda" if prefer != "cpu" and torch.cuda.is_available() else "cpu"


def bf16_native(device: str) -> bool:
    """True where bf16 matmuls run in hardware: CUDA with bf16, or a CPU with AMX tiles."""
    import torch

    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    is_amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(is_amx and is_amx())


def autocast_dtype(precision: str, device: str) -> torch.dtype | None:
    """``torch.bfloat16`` when ``precision`` asks for it (``auto``: only where native), else None (fp32).

    ``auto`` includes CPUs with AMX tiles: there the tiny GPT-2 trained 1.2-1.5x faster under bf16 autocast
    and reached the same held-out perplexity at 300 steps (101.11 vs 101.12, bench/results/llm_fine_tuning.json).
    """
    import torch

    if precision == "bf16" or (precision == "auto" and bf16_native(device)):
        return torch.bfloat16
    return None


def tiny_gpt2(cfg: FineTuneConfig, vocab_size: int, eos_id: int) -> Any:
    """A fresh GPT-2 of the configured size (seeded: the same config and seed give the same weights)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocab_size, n_positions=cfg.block_size, n_embd=cfg.n_embd, n_layer=cfg.n_layer,
                        n_head=cfg.n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id)
    torch.manual_seed(cfg.seed)
    return GPT2LMHeadModel(config)


def load_pretrained(path: str) -> Any:
    """A causal LM from a local folder (a registry download) or an allow-listed hub id."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path)


def resolve_base(ref: str, cache_dir: str | None = None) -> tuple[str, str]:
    """``(path for from_pretrained, version string)`` of a non-local base (downloads registry versions)."""
    if ref == LOCAL_TINY_GPT2:
        raise ValueError("local:tiny-gpt2 is built from a config, not loaded")
    if is_registry_ref(ref):
        from include.platform import registry

        mv, local = registry.download(ref, cache_dir=cache_dir)
        return str(local), mv.ref
    return ref, f"hf:{ref}"


def context_length(model: Any) -> int:
    return int(getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 1024))


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def cpu_count() -> int:
    return os.cpu_count() or 1
