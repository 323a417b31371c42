"""The training container's entry point: ``python -m include.llm.cloud_entry [--data-dir D] [--model-dir M]``.

Runs in this project's image on SageMaker, Vertex AI or Azure ML and trains exactly as the local
``train`` task (:func:`include.llm.pipeline.train_on_blocks`), from the packed blocks and the tokenizer
``prepare`` wrote to the lake. Where things are:

* **SageMaker** (no arguments): hyper-parameters in ``<prefix>/input/config/hyperparameters.json``,
  channels in ``<prefix>/input/data/{train,tokenizer}/``, the model to ``<prefix>/model/`` (SageMaker
  tars it into ``model.tar.gz`` under the job's output path), checkpoints in ``<prefix>/checkpoints/``
  (synced to S3 by ``CheckpointConfig``, so a restarted job resumes). ``<prefix>`` is ``/opt/ml``;
  ``--prefix`` exists so the same code runs outside a container (the e2e test builds the artifact so).
* **Vertex AI / Azure ML**: hyper-parameters in env ``GENAI_HYPERPARAMETERS`` (JSON), ``--data-dir``
  holding ``train_blocks.parquet`` and ``tokenizer/``, ``--model-dir`` (mounted cloud storage).

Next to the model it writes ``training.json``: steps, timings, losses — what the local task returns, so
``evaluate`` registers a cloud-trained version with the same metadata.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from include.llm import cloud

log = logging.getLogger(__name__)


def hyperparameters(prefix: Path) -> dict[str, str]:
    """The job's hyper-parameters: env ``GENAI_HYPERPARAMETERS`` (Vertex, Azure ML), else SageMaker's file."""
    raw = os.environ.get(cloud.HYPERPARAMETERS_ENV)
    if raw:
        return json.loads(raw)
    return json.loads((prefix / "input" / "config" / "hyperparameters.json").read_text())


def run(prefix: Path, data_dir: Path | None = None, model_dir: Path | None = None,
        checkpoint_dir: Path | None = None) -> dict[str, Any]:
    """Train from the channels into ``model_dir``; the ``training.json`` content."""
    import pandas as pd
    from airflow.sdk import ObjectStoragePath

    from include.llm import packing, pipeline
    from include.llm import tokenizer as tok_mod

    cfg = cloud.config_from_hyperparameters(hyperparameters(prefix))
    if data_dir is not None:
        blocks_file, tokenizer_dir = data_dir / "train_blocks.parquet", data_dir / "tokenizer"
    else:
        blocks_file = prefix / "input" / "data" / "train" / "train_blocks.parquet"
        tokenizer_dir = prefix / "input" / "data" / "tokenizer"
    model_dir = model_dir or prefix / "model"
    checkpoint_dir = checkpoint_dir or (prefix / "checkpoints" if data_dir is None else None)
    model_dir.mkdir(parents=True, exist_ok=True)
    blocks = packing.from_frame(pd.read_parquet(blocks_file))
    tokenizer = tok_mod.load(str(tokenizer_dir))
    ckpt_root = None
    if checkpoint_dir is not None:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        ckpt_root = ObjectStoragePath(f"file://{checkpoint_dir.resolve()}")
    with tempfile.TemporaryDirectory() as tmp:
        info = pipeline.train_on_blocks(cfg, blocks, tokenizer, model_dir, tmp, ckpt_root)
    info["backend"] = os.environ.get("GENAI_TRAINING_BACKEND", "container")
    (model_dir / cloud.TRAINING_INFO).write_text(json.dumps(info, indent=2))
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, default=Path(cloud.SAGEMAKER_PREFIX))
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--checkpoint-dir", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        info = run(args.prefix, args.data_dir, args.model_dir, args.checkpoint_dir)
    except Exception as exc:
        # SageMaker shows /opt/ml/output/failure as the job's FailureReason.
        failure = args.prefix / "output" / "failure"
        if failure.parent.is_dir():
            failure.write_text(f"{type(exc).__name__}: {exc}"[:1000])
        raise
    log.info("trained %s steps, final loss %s", info["steps"], info["final_loss"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
