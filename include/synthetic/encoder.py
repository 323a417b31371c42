"""Mode-specific normalization (CTGAN/TVAE) and one-hot encoding, to and from a model-ready matrix.

Each continuous column is fitted with a variational Bayesian Gaussian mixture (a Dirichlet-process
prior switches unneeded modes off, as in CTGAN's ``DataTransformer``). A value becomes
``[alpha, one-hot(mode)]`` with ``alpha = (x - mean_k) / (4 * std_k)`` for a mode ``k`` sampled from
its posterior, which turns skewed and multi-modal columns into near-normal scalars a small network
can reproduce. Categories become one-hot blocks. A column with gaps gets one more 2-way block
("present"/"missing") so the generator learns the null rate jointly with the other columns.

Named a data *encoder* (CTGAN calls it a transformer): it turns rows into the matrix the TVAE
learns and back; it is not a transformer model.

Why our own code: CTGAN/SDV (which ship this step) are BSL-licensed. Only the fitted mode
means/stds/weights are needed to decode, so the fitted encoder round-trips through JSON and
the model artifact carries no pickle.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from include.synthetic.schema import ColumnSpec, TableSchema, conform

log = logging.getLogger(__name__)

TANH = "tanh"
SOFTMAX = "softmax"


@dataclass(frozen=True)
class Span:
    """A slice of the encoded matrix and the activation the decoder must apply to it."""

    column: str
    role: str  # "alpha" | "mode" | "null" | "category"
    start: int
    width: int
    activation: str

    @property
    def end(self) -> int:
        return self.start + self.width


class DataEncoder:
    """Fit on the real frame; ``transform`` to the encoded matrix, ``inverse_transform`` back."""

    def __init__(self, schema: TableSchema, max_modes: int = 10, weight_threshold: float = 0.005,
                 seed: int = 0, fit_rows: int = 5_000) -> None:
        self.schema = schema
        # Mixtures are fitted on a seeded sample of at most ``fit_rows`` values: a 1-D mixture of <= 10
        # modes is well determined by 5k points, and fitting on all 16k rows took ~4x longer.
        self.fit_rows = fit_rows
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.seed = seed
        self.modes: dict[str, dict[str, list[float]]] = {}  # column -> means/stds/weights of valid modes
        self._mixtures: dict[str, BayesianGaussianMixture] = {}  # fit-time only (posterior for transform)
        self.spans: list[Span] = []

    # ---------------------------------------------------------------- fitting
    def fit(self, frame: pd.DataFrame) -> DataEncoder:
        rng = np.random.default_rng(self.seed)
        rows = np.sort(rng.choice(len(frame), self.fit_rows, replace=False)) if len(frame) > self.fit_rows else None
        for spec in self.schema.continuous:
            values = self._filled(frame[spec.name], spec)
            if rows is not None:
                values = values[rows]
            n_modes = int(min(self.max_modes, max(1, np.unique(values).size)))
            gmm = BayesianGaussianMixture(
                n_components=n_modes,
                weight_concentration_prior_type="dirichlet_process",
                weight_concentration_prior=0.001,
                max_iter=100,
                n_init=1,
                random_state=self.seed,
            )
            with warnings.catch_warnings():
                # Expected with a Dirichlet-process prior: unused modes keep shrinking past max_iter.
                warnings.simplefilter("ignore", ConvergenceWarning)
                gmm.fit(values.reshape(-1, 1))
            valid = gmm.weights_ > self.weight_threshold
            if not valid.any():
                valid[np.argmax(gmm.weights_)] = True
            self._mixtures[spec.name] = gmm
            self.modes[spec.name] = {
                "means": gmm.means_.reshape(-1)[valid].tolist(),
                "stds": np.sqrt(gmm.covariances_.reshape(-1))[valid].tolist(),
                "weights": gmm.weights_[valid].tolist(),
                "valid": np.flatnonzero(valid).tolist(),
                "fill": float(np.nanmean(frame[spec.name].to_numpy(dtype="float64")))
                if frame[spec.name].notna().any() else 0.0,
            }
            log.info("Column %s: %d of %d modes in use", spec.name, int(valid.sum()), n_modes)
        self.spans = self._build_spans()
        return self

    def _build_spans(self) -> list[Span]:
        spans: list[Span] = []
        pos = 0

        def add(column: str, role: str, width: int, activation: str) -> None:
            nonlocal pos
            spans.append(Span(column, role, pos, width, activation))
            pos += width

        for spec in self.schema.columns:
            if spec.is_continuous:
                add(spec.name, "alpha", 1, TANH)
                add(spec.name, "mode", len(self.modes[spec.name]["means"]), SOFTMAX)
                if spec.has_nulls:
                    add(spec.name, "null", 2, SOFTMAX)
            else:
                add(spec.name, "category", len(spec.categories) + (1 if spec.has_nulls else 0), SOFTMAX)
        return spans

    @property
    def output_dim(self) -> int:
        return sum(s.width for s in self.spans)

    def _filled(self, series: pd.Series, spec: ColumnSpec) -> np.ndarray:
        values = pd.to_numeric(series).to_numpy(dtype="float64", na_value=np.nan)
        fill = self.modes.get(spec.name, {}).get("fill")
        if fill is None:
            fill = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
        return np.where(np.isnan(values), fill, values)

    # ---------------------------------------------------------------- encoding
    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode ``frame``; the mode of each value is *sampled* from its posterior (seeded), as CTGAN does."""
        if not self._mixtures:
            raise RuntimeError("transform needs the fitted mixtures: call fit() on the real table first")
        rng = np.random.default_rng(self.seed)
        n = len(frame)
        out = np.zeros((n, self.output_dim), dtype=np.float32)
        for span in self.spans:
            spec = self.schema.column(span.column)
            series = frame[spec.name]
            if span.role == "alpha":
                modes = self.modes[spec.name]
                values = self._filled(series, spec)
                means = np.asarray(modes["means"])
                stds = np.asarray(modes["stds"])
                probs = self._mixtures[spec.name].predict_proba(values.reshape(-1, 1))[:, modes["valid"]]
                probs = probs + 1e-6
                probs /= probs.sum(axis=1, keepdims=True)
                cum = probs.cumsum(axis=1)
                chosen = (rng.random((n, 1)) > cum).sum(axis=1).clip(0, len(means) - 1)
                alpha = (values - means[chosen]) / (4 * stds[chosen])
                out[:, span.start] = np.clip(alpha, -0.99, 0.99)
                out[np.arange(n), span.end + chosen] = 1.0  # the mode span follows the alpha span
            elif span.role == "null":
                missing = series.isna().to_numpy()
                out[np.arange(n), span.start + missing.astype(int)] = 1.0
            elif span.role == "category":
                cats = [str(c) for c in spec.categories]
                index = {c: i for i, c in enumerate(cats)}
                codes = np.array([len(cats) if pd.isna(v) else index.get(str(_key(v, spec)), -1) for v in series])
                if (codes < 0).any():
                    unknown = sorted({str(v) for v, c in zip(series, codes, strict=True) if c < 0})[:5]
                    raise ValueError(f"column {spec.name}: categories {unknown} were not in the fitted table")
                out[np.arange(n), span.start + codes] = 1.0
        return out

    # ---------------------------------------------------------------- decoding
    def inverse_transform(self, matrix: np.ndarray, sigmas: np.ndarray | None = None,
                          rng: np.random.Generator | None = None, sample_blocks: bool = False) -> pd.DataFrame:
        """Decode generator output (tanh already applied to alphas) into a frame shaped like the real one.

        ``sigmas`` (TVAE's learned per-dimension noise) perturb each alpha, which is how TVAE adds
        within-mode spread at sampling time. One-hot blocks hold logits: ``sample_blocks`` draws the
        level from their softmax instead of TVAE's argmax (see ``pick``). Values are clipped to the real range and rounded to the
        real precision, as SDV does with ``enforce_min_max_values``/``enforce_rounding``.
        """
        rng = rng or np.random.default_rng(self.seed)
        n = matrix.shape[0]
        columns: dict[str, Any] = {}
        alpha: dict[str, np.ndarray] = {}

        def pick(block: np.ndarray) -> np.ndarray:
            # Argmax (TVAE) always returns the most likely level, so a column the latent code ignores
            # collapses to its mode; drawing from the softmax keeps its marginal distribution.
            if not sample_blocks:
                return block.argmax(axis=1)
            logits = block - block.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            u = rng.random((block.shape[0], 1))
            return (u > probs.cumsum(axis=1)).sum(axis=1).clip(0, block.shape[1] - 1)

        for span in self.spans:
            spec = self.schema.column(span.column)
            block = matrix[:, span.start:span.end]
            if span.role == "alpha":
                a = block[:, 0].astype("float64")
                if sigmas is not None:
                    a = rng.normal(a, sigmas[span.start])
                alpha[spec.name] = np.clip(a, -1, 1)
            elif span.role == "mode":
                modes = self.modes[spec.name]
                k = pick(block)
                values = alpha[spec.name] * 4 * np.asarray(modes["stds"])[k] + np.asarray(modes["means"])[k]
                columns[spec.name] = np.clip(values, spec.minimum, spec.maximum)
            elif span.role == "null":
                missing = pick(block) == 1
                columns[spec.name] = np.where(missing, np.nan, columns[spec.name])
            elif span.role == "category":
                codes = pick(block)
                cats = list(spec.categories) + ([None] if spec.has_nulls else [])
                columns[spec.name] = np.array(cats, dtype=object)[codes]
        frame = pd.DataFrame(columns, index=pd.RangeIndex(n))[self.schema.names]
        return conform(frame, self.schema)

    # ---------------------------------------------------------------- persistence (JSON, no pickle)
    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema.to_dict(), "max_modes": self.max_modes, "fit_rows": self.fit_rows,
                "weight_threshold": self.weight_threshold, "seed": self.seed, "modes": self.modes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataEncoder:
        t = cls(TableSchema.from_dict(data["schema"]), data["max_modes"], data["weight_threshold"], data["seed"],
                data.get("fit_rows", 5_000))
        t.modes = data["modes"]
        t.spans = t._build_spans()
        return t


def _key(value: Any, spec: ColumnSpec) -> Any:
    """Category lookup key: ints stored as 3.0 in a float column still match level 3."""
    if spec.dtype == "int":
        return int(value)
    if spec.dtype == "bool":
        return bool(value)
    return value
