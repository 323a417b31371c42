"""A TVAE-style tabular variational autoencoder in PyTorch (Xu et al., 2019, "Modeling Tabular Data
using Conditional GAN", the TVAE baseline), written here because CTGAN/SDV are BSL-licensed.

Architecture and loss follow the paper's TVAE: MLP encoder -> (mu, logvar); MLP decoder -> encoded
row plus a learned per-dimension ``sigma``. Reconstruction = Gaussian NLL on the tanh'd alphas
(with ``log sigma``) + cross-entropy on every one-hot block, weighted by ``loss_factor``, plus the
KL term. Sampling draws z ~ N(0, I), decodes, perturbs alphas by sigma, and takes argmax per block.

Reproducibility: weights are initialised, batches shuffled and noise drawn from generators seeded
by ``seed``; on CPU the same seed and thread count give bit-identical samples. ``device="auto"``
uses CUDA when present (not bit-reproducible across devices) and the CPU otherwise.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch convention

from include.synthetic.encoder import TANH, DataEncoder
from include.synthetic.schema import TableSchema

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT_VERSION = 1


@dataclass
class TVAEConfig:
    """Hyper-parameters (defaults = the TVAE paper/CTGAN defaults, except fewer epochs)."""

    epochs: int = 100
    batch_size: int = 500
    embedding_dim: int = 128
    hidden: list[int] = field(default_factory=lambda: [128, 128])
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    loss_factor: float = 2.0
    max_modes: int = 10
    # "sample": draw each one-hot block (category, mode, missing) from the decoder's softmax;
    # "argmax": the original TVAE rule, which collapses columns the latent code ignores to one level.
    block_sampling: str = "sample"
    seed: int = 42
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    # torch CPU threads. The network is small: one thread is as fast as two and does not spin-wait
    # against other busy processes (measured: 2 threads on a loaded 2-core box was >10x slower).
    threads: int = 1


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when a GPU is visible, else CPU; asking for CUDA without one fails clearly."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but no CUDA GPU is visible; use device='auto' or 'cpu'")
    return torch.device(name)


class Encoder(nn.Module):
    def __init__(self, data_dim: int, hidden: list[int], embedding_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        dim = data_dim
        for h in hidden:
            layers += [nn.Linear(dim, h), nn.ReLU()]
            dim = h
        self.seq = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(dim, embedding_dim)
        self.fc_logvar = nn.Linear(dim, embedding_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.seq(x)
        return self.fc_mu(h), self.fc_logvar(h)


class Decoder(nn.Module):
    def __init__(self, embedding_dim: int, hidden: list[int], data_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        dim = embedding_dim
        for h in reversed(hidden):
            layers += [nn.Linear(dim, h), nn.ReLU()]
            dim = h
        layers.append(nn.Linear(dim, data_dim))
        self.seq = nn.Sequential(*layers)
        self.sigma = nn.Parameter(torch.ones(data_dim) * 0.1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.seq(z)


class TVAESynthesizer:
    """Fit on a real frame, sample synthetic rows, save/load as safetensors + JSON."""

    def __init__(self, config: TVAEConfig | None = None) -> None:
        self.config = config or TVAEConfig()
        self.data_encoder: DataEncoder | None = None
        self.encoder: Encoder | None = None
        self.decoder: Decoder | None = None
        self.history: list[float] = []
        self.fit_seconds: float = 0.0

    # ---------------------------------------------------------------- training
    def fit(self, frame: pd.DataFrame, schema: TableSchema, progress_every: int = 10) -> TVAESynthesizer:
        cfg = self.config
        start = time.perf_counter()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        device = resolve_device(cfg.device)
        self.data_encoder = DataEncoder(schema, max_modes=cfg.max_modes, seed=cfg.seed).fit(frame)
        data = torch.from_numpy(self.data_encoder.transform(frame)).to(device)
        dim = self.data_encoder.output_dim
        log.info("TVAE: %d rows x %d encoded dims on %s, %d epochs", len(frame), dim, device, cfg.epochs)

        with torch.random.fork_rng(devices=[]):  # seed the weight init without touching the caller's RNG
            torch.manual_seed(cfg.seed)
            self.encoder = Encoder(dim, cfg.hidden, cfg.embedding_dim).to(device)
            self.decoder = Decoder(cfg.embedding_dim, cfg.hidden, dim).to(device)
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        optimizer = torch.optim.Adam(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        tanh_idx, blocks = self._layout(device)
        n = data.shape[0]
        batch = min(cfg.batch_size, n)
        self.history = []
        for epoch in range(cfg.epochs):
            perm = torch.randperm(n, generator=gen, device=device)
            total = 0.0
            steps = 0
            for i in range(0, n - batch + 1, batch):  # drop_last, as TVAE does
                real = data[perm[i:i + batch]]
                mu, logvar = self.encoder(real)
                eps = torch.randn(mu.shape, generator=gen, device=device)
                z = mu + eps * torch.exp(0.5 * logvar)
                recon = self.decoder(z)
                loss_rec = self._reconstruction_loss(recon, real, tanh_idx, blocks)
                kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / real.shape[0]
                loss = cfg.loss_factor * loss_rec + kld
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                self.decoder.sigma.data.clamp_(0.01, 1.0)
                total += float(loss.detach())
                steps += 1
            self.history.append(total / max(steps, 1))
            if progress_every and (epoch + 1) % progress_every == 0:
                log.info("epoch %d/%d loss %.4f (%.1fs)", epoch + 1, cfg.epochs, self.history[-1],
                         time.perf_counter() - start)
        self.fit_seconds = time.perf_counter() - start
        return self

    def _layout(self, device: torch.device) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        tanh_idx = [s.start for s in self.data_encoder.spans if s.activation == TANH]
        blocks = [(s.start, s.end) for s in self.data_encoder.spans if s.activation != TANH]
        return torch.tensor(tanh_idx, dtype=torch.long, device=device), blocks

    def _reconstruction_loss(self, recon: torch.Tensor, real: torch.Tensor, tanh_idx: torch.Tensor,
                             blocks: list[tuple[int, int]]) -> torch.Tensor:
        rows = real.shape[0]
        loss = recon.new_zeros(())
        if tanh_idx.numel():
            sigma = self.decoder.sigma[tanh_idx]
            diff = real[:, tanh_idx] - torch.tanh(recon[:, tanh_idx])
            loss = loss + (diff.pow(2) / 2 / sigma.pow(2)).sum() + torch.log(sigma).sum() * rows
        for st, ed in blocks:
            loss = loss + F.cross_entropy(recon[:, st:ed], real[:, st:ed].argmax(dim=1), reduction="sum")
        return loss / rows

    # ---------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, batch_size: int = 10_000) -> pd.DataFrame:
        """``n`` synthetic rows; the same ``seed`` on the same model gives the same rows."""
        if self.decoder is None or self.data_encoder is None:
            raise RuntimeError("the model is not trained: call fit() or load() first")
        seed = self.config.seed if seed is None else seed
        device = next(self.decoder.parameters()).device
        gen = torch.Generator(device=device).manual_seed(seed)
        self.decoder.eval()
        parts = []
        for i in range(0, n, batch_size):
            m = min(batch_size, n - i)
            z = torch.randn((m, self.config.embedding_dim), generator=gen, device=device)
            out = self.decoder(z)
            parts.append(out.cpu().numpy())
        self.decoder.train()
        matrix = np.concatenate(parts) if parts else np.zeros((0, self.data_encoder.output_dim), np.float32)
        tanh_cols = [s.start for s in self.data_encoder.spans if s.activation == TANH]
        matrix[:, tanh_cols] = np.tanh(matrix[:, tanh_cols])
        sigmas = self.decoder.sigma.detach().cpu().numpy()
        return self.data_encoder.inverse_transform(matrix, sigmas, rng=np.random.default_rng(seed),
                                                  sample_blocks=self.config.block_sampling == "sample")

    # ---------------------------------------------------------------- persistence
    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Weights as safetensors, everything else (config, data encoder, schema) as JSON."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {f"encoder.{k}": v.detach().cpu().contiguous() for k, v in self.encoder.state_dict().items()}
        state |= {f"decoder.{k}": v.detach().cpu().contiguous() for k, v in self.decoder.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "genai-tvae", "version": str(FORMAT_VERSION)})
        config = {
            "format_version": FORMAT_VERSION,
            "generator": "tvae",
            "config": asdict(self.config),
            "data_encoder": self.data_encoder.to_dict(),
            "data_dim": self.data_encoder.output_dim,
            "loss_history": [round(v, 6) for v in self.history],
            "fit_seconds": round(self.fit_seconds, 3),
        } | (extra or {})
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> TVAESynthesizer:
        directory = Path(directory)
        meta = json.loads((directory / CONFIG_FILE).read_text())
        if meta.get("format_version") != FORMAT_VERSION or meta.get("generator") != "tvae":
            raise ValueError(f"{directory} does not hold a TVAE artifact of format {FORMAT_VERSION}")
        cfg = TVAEConfig(**(meta["config"] | {"device": device}))
        model = cls(cfg)
        # Artifacts registered before the encoder's rename keep it under "transformer".
        model.data_encoder = DataEncoder.from_dict(meta.get("data_encoder") or meta["transformer"])
        dim = model.data_encoder.output_dim
        target = resolve_device(device)
        model.encoder = Encoder(dim, cfg.hidden, cfg.embedding_dim)
        model.decoder = Decoder(cfg.embedding_dim, cfg.hidden, dim)
        state = load_file(str(directory / WEIGHTS_FILE))
        model.encoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
        model.decoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("decoder.")})
        model.encoder.to(target)
        model.decoder.to(target)
        model.history = meta.get("loss_history", [])
        model.fit_seconds = meta.get("fit_seconds", 0.0)
        return model
