"""``SyntheticConfig``: every knob of the ``synthetic_data_generation`` DAG, in one typed, frozen home.

The DAG's trigger form is ``SyntheticConfig.params()``; each task turns the run's Params into the
validated object with ``SyntheticConfig.from_params(params)`` and hands it to :mod:`include.synthetic.pipeline`.
Defaults, bounds and descriptions live here only (the docs' Param table is generated from them).

``augmented_table`` is deployment *wiring*, not a Param: analysts and dashboards read one fixed
table, the dataset card names it, and a run that re-pointed it would split "the one augmented set"
across two tables (the old one keeping a stale batch). It is read from Variable
``genai_synthetic_augmented_table`` and checked as an SQL identifier (it is spliced into SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from include.platform.config import DagConfig, knob, wiring
from include.platform.errors import ConfigError

if TYPE_CHECKING:  # the DAG file imports this module at parse time: keep it to the platform config
    from include.synthetic.gate import Thresholds
    from include.synthetic.tvae import TVAEConfig

#: Param ``source_path``: a Parquet file in the lake's raw zone; segments cannot start with ``.`` (no ``..``).
#: The form refuses anything else, and :func:`include.synthetic.pipeline.real_table_path` checks it again.
SOURCE_PATTERN = r"^raw/([A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.parquet$"
_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"

GENERATION = "Generation"
TRAINING = "Training"
SOURCE = "Real table"
CHECKS = "Validation and privacy checks"
GATE = "Gate thresholds"


@dataclass(frozen=True)
class SyntheticConfig(DagConfig):
    """What one run of ``synthetic_data_generation`` trains, generates, checks and publishes."""

    rows_to_generate: int = knob(5_000, "Synthetic rows to generate and add to the augmented table.",
                                 section=GENERATION, minimum=10, maximum=5_000_000)
    seed: int = knob(42, "Seed of the split, the model and the sample: same seed, same rows (on CPU).",
                     section=GENERATION)

    epochs: int = knob(100, "TVAE training epochs (quality and training time grow with it; measured numbers "
                            "in the docs).", section=TRAINING, minimum=1, maximum=2_000)
    batch_size: int = knob(500, "Training batch size.", section=TRAINING, minimum=8, maximum=100_000)
    embedding_dim: int = knob(128, "Size of the VAE latent space.", section=TRAINING, minimum=4, maximum=1_024)
    device: str = knob("auto", "Where to train: auto = the GPU when one is visible, else CPU.",
                       section=TRAINING, enum=["auto", "cpu", "cuda"])
    threads: int = knob(1, "CPU threads for PyTorch (one is fastest for this small network on a shared box).",
                        section=TRAINING, minimum=1, maximum=64)

    source_path: str = knob("raw/customers/customers.parquet",
                            "The real table: a Parquet file in the lake's raw zone (raw/<folder>/<file>.parquet); "
                            "needs a customer_id column. Other zones, '..' and absolute paths are refused.",
                            section=SOURCE, pattern=SOURCE_PATTERN)
    holdout_share: float = knob(0.2, "Share of real rows kept away from the generator for TSTR and overfitting "
                                     "checks.", section=SOURCE, minimum=0.05, maximum=0.5)
    max_training_rows: int = knob(200_000, "Cap on real rows used (seeded sample) to bound training time.",
                                  section=SOURCE, minimum=100)
    target_column: str | None = knob("churned", "Label for the TSTR/TRTR usefulness check (empty to skip it).",
                                     section=SOURCE, type=["string", "null"])

    dcr_rows: int = knob(1_000, "Synthetic rows compared in the distance-to-closest-record checks.",
                         section=CHECKS, minimum=50, maximum=20_000)
    gx_null_tolerance: float = knob(0.02, "Allowed excess null rate per column over the real table in the GX suite.",
                                    section=CHECKS, minimum=0, maximum=1)

    min_quality: float = knob(0.80, "Minimum overall quality (mean of column shapes and pair trends).",
                              section=GATE, minimum=0, maximum=1)
    min_dcr_protection_vs_holdout: float = knob(
        0.80, "DCR baseline protection must reach this share of what real hold-out rows score.",
        section=GATE, minimum=0, maximum=2)
    min_dcr_overfitting_protection: float = knob(
        0.70, "Minimum DCR overfitting protection (closer to training than to hold-out).",
        section=GATE, minimum=0, maximum=1)
    max_exact_copy_rate: float = knob(0.01, "Maximum share of synthetic rows identical to a real row.",
                                      section=GATE, minimum=0, maximum=1)
    min_tstr_ratio: float = knob(0.80, "Minimum ROC AUC trained-on-synthetic / trained-on-real, on the real hold-out.",
                                 section=GATE, minimum=0, maximum=10)

    drill_out_of_range_share: float = knob(
        0.0, "Fault drill: push this share of the candidate's rows below the real minimum of the first continuous "
             "column after sampling, so the GX check fails and the reject/quarantine path runs. 0 = off.",
        section=GENERATION, drill=True, minimum=0, maximum=1)

    augmented_table: str = wiring("synthetic_augmented_table", "customers_augmented",
                                  "Warehouse table that receives real + synthetic rows on publish.")

    def check(self) -> None:
        if not re.fullmatch(_IDENTIFIER, self.augmented_table):
            raise ConfigError(f"Variable genai_synthetic_augmented_table = {self.augmented_table!r} is not a table "
                              "name", "set it to letters, digits and underscores (not starting with a digit), "
                              "or delete it to use customers_augmented")

    @property
    def label(self) -> str | None:
        """The TSTR/TRTR target, or None when the form left it empty (skip the usefulness check)."""
        return self.target_column or None

    @property
    def tvae(self) -> TVAEConfig:
        """The generator's hyper-parameters for this run (imports torch: call it in a task)."""
        from include.synthetic.tvae import TVAEConfig

        return TVAEConfig(epochs=self.epochs, batch_size=self.batch_size, embedding_dim=self.embedding_dim,
                          seed=self.seed, device=self.device, threads=self.threads)

    @property
    def thresholds(self) -> Thresholds:
        """The gate's thresholds for this run."""
        from include.synthetic.gate import Thresholds

        return Thresholds(min_quality=self.min_quality, min_dcr_protection_vs_holdout=self.min_dcr_protection_vs_holdout,
                          min_dcr_overfitting_protection=self.min_dcr_overfitting_protection,
                          max_exact_copy_rate=self.max_exact_copy_rate, min_tstr_ratio=self.min_tstr_ratio)
