"""The training loop: hand-written AdamW over packed blocks, checkpoints to the lake, resume after a crash.

``transformers.Trainer`` needs ``accelerate``, which is not in the stack; the loop is short enough to own:
AdamW (weight decay on matrices only), linear warm-up then cosine decay to 10% of the peak, gradient
clipping at 1.0, optional bf16 autocast (weights and optimizer state stay fp32).

**Checkpoints** go to the lake every ``checkpoint_every`` steps and at the end, under
``<root>/step-<n>/``: ``model.safetensors`` (weights) and ``state.pt`` (optimizer, scheduler, step, the
global torch RNG, the batch-order generator and the CUDA RNG — tensors and numbers only, loaded with
``weights_only=True``), then ``<root>/latest.json`` is written last, so a crash mid-checkpoint leaves
the previous one current. The two newest checkpoints are kept.

**Resume.** :func:`train` first looks for ``latest.json``: if present it loads everything and continues at
the next step. Batches are drawn from a ``torch.Generator`` whose state is in the checkpoint, so a resumed
run sees the same batches an uninterrupted one would, and ends with the same weights (tests check it).
"""

from __future__ import annotations

import io
import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

KEEP_CHECKPOINTS = 2
LATEST = "latest.json"


class SimulatedCrash(RuntimeError):
    """Raised by :func:`train` after ``crash_after`` steps (fault drills and tests: a killed worker)."""


@dataclass
class TrainResult:
    start_step: int  # the step this attempt started from (0, or the checkpoint it resumed)
    final_step: int
    seconds: float
    tokens_per_s: float
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, mean loss since the last log line)
    checkpoints: list[int] = field(default_factory=list)  # steps checkpointed by this attempt
    precision: str = "fp32"

    @property
    def steps_run(self) -> int:
        return self.final_step - self.start_step

    @property
    def resumed_from(self) -> int | None:
        return self.start_step or None


def lr_factor(step: int, total: int, warmup_share: float) -> float:
    """Linear warm-up over ``warmup_share`` of ``total`` steps, then cosine decay to 0.1."""
    warmup = max(1, int(total * warmup_share))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def _optimizer(model: Any, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))


def _state_bytes(obj: Any) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def save_checkpoint(root: ObjectStoragePath, step: int, model: Any, optimizer: Any, scheduler: Any,
                    generator: Any, base: str | None = None) -> None:
    """Weights (safetensors; under LoRA the adapters only) + training state for ``step``; ``latest.json``
    last; older ones pruned."""
    import torch
    from safetensors.torch import save as save_safetensors

    from include.platform import storage

    name = f"step-{step:07d}"
    from include.llm.adapters import trainable_state

    weights = {k: v.detach().to("cpu").contiguous().clone() for k, v in trainable_state(model).items()}
    storage.write_bytes(root / name / "model.safetensors", save_safetensors(weights))
    state = {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "rng_cpu": torch.get_rng_state(), "rng_data": generator.get_state(),
             "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
    storage.write_bytes(root / name / "state.pt", _state_bytes(state))
    storage.write_json(root / LATEST, {"step": step, "dir": name} | ({"base": base} if base else {}))
    for old in sorted(p.name for p in root.iterdir() if p.name.startswith("step-"))[:-KEEP_CHECKPOINTS]:
        folder = root / old
        folder.fs.rm(folder.path, recursive=True)


def latest_checkpoint(root: ObjectStoragePath | None) -> dict[str, Any] | None:
    """``{"step", "dir"}`` of the newest complete checkpoint under ``root``, or None."""
    from include.platform import storage

    if root is None or not (root / LATEST).exists():
        return None
    return storage.read_json(root / LATEST)


def load_checkpoint(root: ObjectStoragePath, model: Any, optimizer: Any, scheduler: Any, generator: Any) -> int:
    """Restore everything :func:`save_checkpoint` wrote; the step it was taken at."""
    import torch
    from safetensors.torch import load as load_safetensors

    from include.platform import storage

    latest = latest_checkpoint(root)
    assert latest is not None
    folder = root / latest["dir"]
    from include.llm.adapters import load_trainable_state

    load_trainable_state(model, load_safetensors(storage.read_bytes(folder / "model.safetensors")))
    state = torch.load(io.BytesIO(storage.read_bytes(folder / "state.pt")), weights_only=True, map_location="cpu")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng_cpu"])
    generator.set_state(state["rng_data"])
    if state["rng_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng_cuda"])
    return int(state["step"])


def _eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def train(model: Any, blocks: np.ndarray, *, max_steps: int, batch_size: int, learning_rate: float,
          checkpoint_every: int, log_every: int, seed: int, device: str = "cpu",
          amp_dtype: torch.dtype | None = None, ckpt_root: ObjectStoragePath | None = None,
          warmup_share: float = 0.1, weight_decay: float = 0.1, grad_clip: float = 1.0,
          crash_after: int | None = None, base: str | None = None) -> TrainResult:
    """Train ``model`` on ``blocks`` (``[n, block_size]`` token ids) to ``max_steps``, resuming from
    ``ckpt_root`` when it holds a checkpoint taken from the same ``base`` (what the weights started from:
    a LoRA checkpoint holds adapters only, which fit no other base). ``crash_after`` raises
    :class:`SimulatedCrash` once this attempt has run that many steps (after any checkpoint due at that step)."""
    import torch

    if len(blocks) == 0:
        raise ValueError("no training blocks: the corpus is shorter than one block")
    data = torch.from_numpy(np.ascontiguousarray(blocks, dtype=np.int64))
    model.to(device).train()
    optimizer = _optimizer(model, learning_rate, weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, max_steps, warmup_share))
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    start = 0
    latest = latest_checkpoint(ckpt_root)
    if latest is not None and base and latest.get("base", base) != base:
        log.warning("the checkpoint at step %s was trained from %s, this attempt starts from %s: not resuming "
                    "(training from step 0)", latest["step"], latest.get("base"), base)
    elif latest is not None:
        start = load_checkpoint(ckpt_root, model, optimizer, scheduler, generator)
        log.info("resumed from the checkpoint at step %d of %d (%s)", start, max_steps, ckpt_root)
    precision = "bf16" if amp_dtype is not None else "fp32"
    tokens_per_step = batch_size * data.shape[1]
    result = TrainResult(start_step=start, final_step=start, seconds=0.0, tokens_per_s=0.0, precision=precision)
    began = last = time.perf_counter()
    window: list[float] = []
    for step in range(start + 1, max_steps + 1):
        idx = torch.randint(0, len(data), (batch_size,), generator=generator)
        batch = data[idx].to(device)
        with torch.autocast(device_type=device, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
            loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        scheduler.step()
        window.append(float(loss.detach()))
        result.final_step = step
        if step % log_every == 0 or step == max_steps:
            now = time.perf_counter()
            done = step - start
            rate = done * tokens_per_step / max(now - began, 1e-9)
            eta = (max_steps - step) * (now - began) / max(done, 1)
            mean = sum(window) / len(window)
            result.losses.append((step, mean))
            log.info("step %d/%d loss %.4f lr %.2e tokens/s %.0f (last %d steps %.0f) ETA %s", step, max_steps,
                     mean, scheduler.get_last_lr()[0], rate, len(window),
                     len(window) * tokens_per_step / max(now - last, 1e-9), _eta(eta))
            window, last = [], now
        if ckpt_root is not None and (step % checkpoint_every == 0 or step == max_steps):
            save_checkpoint(ckpt_root, step, model, optimizer, scheduler, generator, base)
            result.checkpoints.append(step)
        if crash_after is not None and step - start >= crash_after and step < max_steps:
            raise SimulatedCrash(f"simulated crash after {crash_after} steps (at step {step})")
    result.seconds = time.perf_counter() - began
    result.tokens_per_s = (result.steps_run * tokens_per_step) / max(result.seconds, 1e-9)
    model.eval()
    return result
