"""LoRA adapters (``peft``) for fine-tuning pretrained causal LMs on modest hardware.

Why LoRA: full fine-tuning of a pretrained model keeps AdamW state (two fp32 moments) for every weight, so
``gpt2`` (124 M) needs ~1.5 GB of optimizer state and a 1 B model ~12 GB; low-rank adapters on the attention
projections train well under 1% of the weights (gpt2 at r=8: 0.3 M) and keep checkpoints small. The local
``tiny-gpt2`` starts from random weights, where a low-rank update cannot learn a language model, so
``lora=auto`` leaves it on full fine-tuning.

Why ``peft`` rather than our own low-rank layers: it is the maintained implementation that knows each
architecture's projection names (GPT-2's fused ``Conv1D`` ``c_attn``, Llama's ``q_proj``/``v_proj``) and merges
the adapters back exactly (``merge_and_unload``). The registry stores the merged model, so serving
(:mod:`include.textgen`) and evaluation load a plain ``transformers`` model and never import peft.

Checkpoints under LoRA hold the trainable tensors only (:func:`trainable_state`): the frozen base is
re-loaded from its source on resume, which is what makes a 7 B-parameter checkpoint megabytes, not gigabytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from include.platform.errors import ConfigError

if TYPE_CHECKING:
    from include.llm.config import FineTuneConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdapterPlan:
    """Whether training wraps the base in LoRA adapters, and why (logged and reported)."""

    lora: bool
    reason: str


def plan(cfg: FineTuneConfig, parameters: int) -> AdapterPlan:
    """Decide LoRA or full fine-tuning for a base of ``parameters`` weights (see ``FineTuneConfig.lora``)."""
    if cfg.lora == "off":
        return AdapterPlan(False, "lora=off: full fine-tuning")
    if cfg.local:  # lora=on is refused earlier, by FineTuneConfig.check
        return AdapterPlan(False, "local:tiny-gpt2 trains from random weights: full fine-tuning")
    if cfg.lora == "on":
        return AdapterPlan(True, "lora=on")
    if parameters >= cfg.lora_min_parameters:
        return AdapterPlan(True, f"lora=auto: {parameters:,} parameters >= lora_min_parameters "
                                 f"{cfg.lora_min_parameters:,}")
    return AdapterPlan(False, f"lora=auto: {parameters:,} parameters < lora_min_parameters "
                              f"{cfg.lora_min_parameters:,}: full fine-tuning")


def wrap(model: Any, cfg: FineTuneConfig) -> Any:
    """``model`` with LoRA adapters on the configured modules; only the adapters require gradients."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    torch.manual_seed(cfg.seed)  # lora_A's random init: the same config gives the same adapters (and retries)
    targets = [t for t in cfg.lora_target_modules.split(",") if t] or None
    config = LoraConfig(task_type=TaskType.CAUSAL_LM, r=cfg.lora_rank, lora_alpha=cfg.lora_alpha,
                        lora_dropout=cfg.lora_dropout, target_modules=targets)
    try:
        wrapped = get_peft_model(model, config)
    except ValueError as exc:  # unknown architecture without target_modules, or names that match nothing
        raise ConfigError(f"LoRA could not be attached: {exc}",
                          "set lora_target_modules to the model's projection names, or lora=off") from exc
    trainable, total = trainable_count(wrapped), sum(p.numel() for p in wrapped.parameters())
    log.info("LoRA r=%d alpha=%d dropout=%.2f on %s: %d trainable of %d parameters (%.2f%%)", cfg.lora_rank,
             cfg.lora_alpha, cfg.lora_dropout, sorted(wrapped.peft_config["default"].target_modules), trainable,
             total, 100.0 * trainable / max(total, 1))
    return wrapped


def merge(model: Any) -> Any:
    """The plain ``transformers`` model with the adapters folded into its weights (a no-op without adapters)."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


def trainable_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def trainable_state(model: Any) -> dict[str, Any]:
    """What a checkpoint must hold: the full ``state_dict`` when every weight trains (as before LoRA), else
    only the tensors that require gradients (the adapters); the frozen base comes back from its source."""
    params = dict(model.named_parameters())
    if all(p.requires_grad for p in params.values()):
        return model.state_dict()
    return {name: p for name, p in params.items() if p.requires_grad}


def load_trainable_state(model: Any, weights: dict[str, Any]) -> None:
    """Inverse of :func:`trainable_state`: every trainable tensor must be in ``weights``; nothing unknown."""
    result = model.load_state_dict(weights, strict=False)
    if result.unexpected_keys:
        raise ValueError(f"checkpoint holds tensors this model does not have: {result.unexpected_keys[:5]}")
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    missing = trainable & set(result.missing_keys)
    if missing:
        raise ValueError(f"checkpoint lacks trainable tensors: {sorted(missing)[:5]}")
