"""The container entry point trains on SageMaker's layout (and resumes from its checkpoint folder), and a
job's ``model.tar.gz`` is unpacked into the run's folder only when it is a plain, complete model folder."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from include.llm import cloud, cloud_entry
from include.llm.config import FineTuneConfig
from include.platform.errors import ConfigError, PathRefused

SMALL = {"vocab_size": 300, "block_size": 16, "n_layer": 1, "n_embd": 32, "n_head": 2, "seed": 3, "batch_size": 4,
         "learning_rate": 3e-3, "checkpoint_every": 2, "log_every": 2, "threads": 1, "precision": "fp32"}
TEXTS = [f"the {c} dress number {i} fits well and the fabric is soft" for i in range(40)
         for c in ("red", "blue", "green")]


def _layout(prefix: Path, **overrides) -> FineTuneConfig:
    """SageMaker's /opt/ml layout under ``prefix``: hyper-parameters file and the two channels."""
    from include.llm import packing
    from include.llm import tokenizer as tok_mod

    cfg = FineTuneConfig.from_params(SMALL | overrides)
    (prefix / "input" / "config").mkdir(parents=True, exist_ok=True)
    (prefix / "input" / "config" / "hyperparameters.json").write_text(json.dumps(cloud.hyperparameters(cfg)))
    tok = tok_mod.train_bpe(TEXTS, cfg.vocab_size)
    tok.save_pretrained(prefix / "input" / "data" / "tokenizer")
    (prefix / "input" / "data" / "train").mkdir(parents=True, exist_ok=True)
    packing.to_frame(packing.pack_texts(tok, TEXTS, cfg.block_size)).to_parquet(
        prefix / "input" / "data" / "train" / "train_blocks.parquet")
    return cfg


def test_entry_point_trains_on_the_sagemaker_layout_and_resumes_from_its_checkpoints(tmp_path):
    from include.llm import pipeline

    prefix = tmp_path / "opt-ml"
    _layout(prefix, max_steps=4)
    assert cloud_entry.main(["--prefix", str(prefix)]) == 0
    info = json.loads((prefix / "model" / cloud.TRAINING_INFO).read_text())
    assert info["steps"] == 4 and info["steps_run"] == 4 and info["resumed_from"] is None
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= {p.name for p in (prefix / "model").iterdir()}
    assert (prefix / "checkpoints" / "latest.json").exists()  # what CheckpointConfig syncs to S3
    model, tok = pipeline.load_model_dir(prefix / "model")
    assert len(tok) == 300 and model.config.n_layer == 1

    # a restarted job (spot interruption) finds the synced checkpoints and continues, not from zero
    _layout(prefix, max_steps=6)
    assert cloud_entry.main(["--prefix", str(prefix)]) == 0
    info = json.loads((prefix / "model" / cloud.TRAINING_INFO).read_text())
    assert info["steps"] == 6 and info["resumed_from"] == 4 and info["steps_run"] == 2


def test_entry_point_reads_env_hyperparameters_and_explicit_dirs(tmp_path, monkeypatch):
    """Vertex AI / Azure ML: hyper-parameters in GENAI_HYPERPARAMETERS, data and model dirs as arguments."""
    staged = tmp_path / "staged"
    cfg = _layout(staged, max_steps=2)
    data = tmp_path / "mounted-data"
    (data / "tokenizer").mkdir(parents=True)
    for f in (staged / "input" / "data" / "tokenizer").iterdir():
        (data / "tokenizer" / f.name).write_bytes(f.read_bytes())
    (data / "train_blocks.parquet").write_bytes((staged / "input" / "data" / "train" / "train_blocks.parquet").read_bytes())
    monkeypatch.setenv(cloud.HYPERPARAMETERS_ENV, json.dumps(cloud.hyperparameters(cfg)))
    monkeypatch.setenv("GENAI_TRAINING_BACKEND", "vertex")
    model_dir = tmp_path / "gcs" / "out" / "model"
    assert cloud_entry.main(["--prefix", str(tmp_path / "absent"), "--data-dir", str(data),
                             "--model-dir", str(model_dir)]) == 0
    info = json.loads((model_dir / cloud.TRAINING_INFO).read_text())
    assert info["steps"] == 2 and info["backend"] == "vertex"


def _tar(files: dict[str, bytes], symlink: tuple[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink[0])
            info.type, info.linkname = tarfile.SYMTYPE, symlink[1]
            tar.addfile(info)
    return buf.getvalue()


@pytest.fixture(scope="module")
def trained_files(tmp_path_factory) -> dict[str, bytes]:
    prefix = tmp_path_factory.mktemp("opt-ml")
    _layout(prefix, max_steps=2)
    assert cloud_entry.main(["--prefix", str(prefix)]) == 0
    return {p.name: p.read_bytes() for p in (prefix / "model").iterdir()}


def test_artifact_is_unpacked_into_the_run_folder(lake, tmp_path, trained_files):
    from include.llm import pipeline
    from include.platform import storage

    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(_tar(trained_files))
    out = pipeline.fetch_cloud_model(archive.as_uri(), None, "run-1", "textgen-ft-x")
    assert out["steps"] == 2 and out["job"] == "textgen-ft-x" and out["artifact_uri"] == archive.as_uri()
    names = {p.name for p in storage.list_files(storage.path_from_uri(out["model_uri"]))}
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= names
    assert cloud.TRAINING_INFO not in names  # its content went to XCom / the registry metadata


@pytest.mark.parametrize(("extra", "symlink", "needle"), [
    ({"../escape.txt": b"x"}, None, r"'\.\.' segment"),
    ({}, ("config.json.lnk", "/etc/passwd"), "not a regular file"),
    ({"/abs.txt": b"x"}, None, r"segment|outside|absolute"),
])
def test_a_hostile_archive_is_refused_and_writes_nothing_outside(lake, tmp_path, trained_files, extra, symlink,
                                                                  needle):
    from include.llm import pipeline

    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(_tar(trained_files | extra, symlink))
    with pytest.raises((ConfigError, PathRefused), match=needle):  # PathRefused: the path guard
        pipeline.fetch_cloud_model(archive.as_uri(), None, "run-2", "textgen-ft-x")
    assert not (tmp_path / "escape.txt").exists()


def test_an_incomplete_artifact_names_what_is_missing(lake, tmp_path, trained_files):
    from include.llm import pipeline

    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(_tar({k: v for k, v in trained_files.items() if k != "model.safetensors"}))
    with pytest.raises(ConfigError, match="model.safetensors"):
        pipeline.fetch_cloud_model(archive.as_uri(), None, "run-3", "textgen-ft-x")
