"""The lake and the model registry on s3://, gs:// and abfs://, switched by configuration only.

Each case points ``genai_lake_root`` / ``genai_lake_conn_id`` (as ``AIRFLOW_VAR_*`` env vars, the way a
deployment sets them) and an ``AIRFLOW_CONN_*`` connection at a local emulator (moto server, the GCS
emulator, Azurite), then goes through the platform layer only: storage helpers and the registry.
Every write is then checked from the outside with the provider's own hook (S3Hook, GCSHook,
WasbHook) on the same connection, so a filesystem that silently ignored the connection (the GCS
``is_anonymous`` trap) or wrote somewhere else cannot pass.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures.emulators import AZURE_CONTAINER, GCS_BUCKET

pytestmark = pytest.mark.emulator

S3_BUCKET = "genai-lake-test"


@dataclass
class Cloud:
    """One cloud lake: its root, its connection id, and the provider hook's view of the bucket.

    ``keys``/``get``/``put`` take keys relative to the lake root and go through the provider hook
    (real SDK client), not through the platform layer under test.
    """

    scheme: str
    fs_class: str  # the fsspec filesystem ObjectStoragePath must resolve to (proves the conn is used)
    bucket: str
    conn_id: str
    list_keys: Callable[[str], list[str]]
    get_bytes: Callable[[str], bytes]
    put_bytes: Callable[[str, bytes], object]
    prefix: str = field(default_factory=lambda: f"lake-{uuid.uuid4().hex[:8]}")

    @property
    def root_uri(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.prefix}"

    def keys(self, sub: str) -> list[str]:
        return list(self.list_keys(f"{self.prefix}/{sub}"))

    def get(self, key: str) -> bytes:
        return self.get_bytes(f"{self.prefix}/{key}")

    def put(self, key: str, data: bytes) -> None:
        self.put_bytes(f"{self.prefix}/{key}", data)


def _s3(conn_id: str) -> Cloud:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=conn_id)
    if not hook.check_for_bucket(S3_BUCKET):
        hook.create_bucket(S3_BUCKET)  # S3 has no implicit buckets; the lake never creates one

    return Cloud(
        scheme="s3",
        fs_class="S3FileSystem",
        bucket=S3_BUCKET,
        conn_id=conn_id,
        list_keys=lambda prefix: hook.list_keys(S3_BUCKET, prefix=prefix),
        get_bytes=lambda key: hook.get_key(key, S3_BUCKET).get()["Body"].read(),
        put_bytes=lambda key, data: hook.load_bytes(data, key, S3_BUCKET, replace=True),
    )


def _gs(conn_id: str) -> Cloud:
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    hook = GCSHook(gcp_conn_id=conn_id)
    return Cloud(
        scheme="gs",
        fs_class="GCSFileSystem",
        bucket=GCS_BUCKET,
        conn_id=conn_id,
        list_keys=lambda prefix: hook.list(GCS_BUCKET, prefix=prefix),
        get_bytes=lambda key: hook.download(GCS_BUCKET, key),
        put_bytes=lambda key, data: hook.upload(GCS_BUCKET, key, data=data),
    )


def _abfs(conn_id: str) -> Cloud:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    hook = WasbHook(wasb_conn_id=conn_id)
    return Cloud(
        scheme="abfs",
        fs_class="AzureBlobFileSystem",
        bucket=AZURE_CONTAINER,
        conn_id=conn_id,
        list_keys=lambda prefix: hook.get_blobs_list_recursive(AZURE_CONTAINER, prefix=prefix),
        get_bytes=lambda key: hook.download(AZURE_CONTAINER, key).readall(),
        put_bytes=lambda key, data: hook.upload(AZURE_CONTAINER, key, data, overwrite=True),
    )


CLOUDS = {"s3": ("aws_conn", _s3), "gs": ("gcs_conn", _gs), "abfs": ("azure_conn", _abfs)}


@pytest.fixture(params=sorted(CLOUDS))
def cloud(request: pytest.FixtureRequest, lake: Path, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    """Switch the lake to one cloud by configuration only, under a fresh prefix per test."""
    conn_fixture, build = CLOUDS[request.param]
    conn_id = request.getfixturevalue(conn_fixture)  # starts only this cloud's emulator
    # The Azure SDK logs every request and response header at INFO; keep the test output readable.
    monkeypatch.setattr(logging.getLogger("azure"), "level", logging.WARNING)
    c = build(conn_id)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", c.root_uri)
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_CONN_ID", conn_id)
    return c


def test_storage_helpers_round_trip_on_cloud(cloud: Cloud) -> None:
    import pandas as pd

    from include.platform import storage

    root = storage.lake_root()
    assert root.protocol == cloud.scheme
    assert type(root.fs).__name__ == cloud.fs_class, "ObjectStoragePath did not use the lake connection"

    day = storage.lake_path("raw", "feedback", "2026-11-21")
    text = '{"id": 1, "text": "Très bien — 5/5 ✓"}\n{"id": 2, "text": "slow"}\n'
    storage.write_text(day / "export-2026-11-21.jsonl", text)
    storage.write_json(day / "summary.json", {"rows": 2, "day": "2026-11-21"})
    storage.write_text(day / ".export.tmp", "half-written")  # hidden files are never listed
    frame = pd.DataFrame({"id": [1, 2, 3], "score": [0.5, 0.25, 1.0], "label": ["pos", "neg", None]})
    storage.write_parquet(storage.lake_path("curated", "scores", "scores.parquet"), frame)

    assert storage.read_text(day / "export-2026-11-21.jsonl") == text
    assert storage.read_json(day / "summary.json") == {"rows": 2, "day": "2026-11-21"}
    pd.testing.assert_frame_equal(storage.read_parquet(storage.lake_path("curated", "scores", "scores.parquet")),
                                  frame)

    assert [p.name for p in storage.list_files(day)] == ["export-2026-11-21.jsonl", "summary.json"]
    assert [p.name for p in storage.list_files(day, ".jsonl")] == ["export-2026-11-21.jsonl"]
    assert storage.list_files(storage.lake_path("raw", "feedback", "1999-01-01")) == []

    # A URI passed through XCom comes back bound to the connection.
    uri = str(day / "summary.json")
    assert uri.startswith(f"{cloud.scheme}://")
    assert storage.read_json(storage.path_from_uri(uri))["rows"] == 2

    # Seen from the outside by the provider's own hook: the objects are in the emulator's bucket.
    assert cloud.get("raw/feedback/2026-11-21/export-2026-11-21.jsonl") == text.encode()
    assert json.loads(cloud.get("raw/feedback/2026-11-21/summary.json")) == {"rows": 2, "day": "2026-11-21"}
    assert sorted(k.rsplit("/", 1)[-1] for k in cloud.keys("raw/")) == [
        ".export.tmp", "export-2026-11-21.jsonl", "summary.json"]
    assert cloud.get("curated/scores/scores.parquet")[:4] == b"PAR1"


def _model_dir(root: Path, seed: int) -> Path:
    """A small artifact in the formats the registry accepts: safetensors weights, JSON, tokenizer text."""
    import numpy as np
    from safetensors.numpy import save_file

    root.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    save_file({"linear.weight": rng.standard_normal((8, 4)).astype("float32")}, str(root / "model.safetensors"))
    (root / "config.json").write_text(json.dumps({"hidden": 4, "labels": ["neg", "pos"], "seed": seed}))
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nbien\nslow\n")
    return root


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_registry_register_download_promote_on_cloud(cloud: Cloud, tmp_path: Path) -> None:
    from include.platform import registry

    v1_dir = _model_dir(tmp_path / "v1", seed=1)
    v2_dir = _model_dir(tmp_path / "v2", seed=2)
    v1 = registry.register_model("sentiment", v1_dir, metrics={"f1": 0.71}, alias="champion",
                                 metadata={"base": "minilm"})
    v2 = registry.register_model("sentiment", v2_dir, metrics={"f1": 0.78}, alias="challenger")
    assert (v1.version, v2.version) == ("1", "2")
    assert [v.version for v in registry.list_versions("sentiment")] == ["1", "2"]
    assert registry.resolve("sentiment@champion").metadata == {"base": "minilm"}

    # The artifact and its manifest are objects in the cloud bucket, with the hashes of the local files.
    keys = cloud.keys("models/sentiment/versions/2/")
    assert sorted(k.split("/versions/2/", 1)[1] for k in keys) == [
        "config.json", "manifest.json", "model.safetensors", "tokenizer/vocab.txt"]
    manifest = json.loads(cloud.get("models/sentiment/versions/2/manifest.json"))
    assert manifest["files"]["model.safetensors"] == _sha256(v2_dir / "model.safetensors")
    assert manifest["metrics"] == {"f1": 0.78}

    mv, local = registry.download("sentiment@challenger", cache_dir=tmp_path / "cache")
    assert mv.version == "2"
    for rel in ("model.safetensors", "config.json", "tokenizer/vocab.txt"):
        assert _sha256(local / rel) == _sha256(v2_dir / rel) == mv.files[rel]

    assert registry.promote("sentiment", 2) == {"champion": "2", "previous": "1"}
    assert json.loads(cloud.get("models/sentiment/aliases.json")) == {"champion": "2", "previous": "1"}
    assert registry.resolve("sentiment@champion").metrics == {"f1": 0.78}
    assert registry.resolve("sentiment@previous").version == "1"

    # Checksums are verified against the cloud copy: a weight file altered in the bucket is refused.
    cloud.put("models/sentiment/versions/2/model.safetensors", b"tampered")
    with pytest.raises(registry.RegistryError, match="checksum mismatch for sentiment/2:model.safetensors"):
        registry.download("sentiment@champion", cache_dir=tmp_path / "fresh-cache")


def test_lake_sees_objects_written_by_other_workers(cloud: Cloud, tmp_path: Path) -> None:
    from include.platform import registry, storage

    day = storage.lake_path("raw", "feedback", "2026-11-22")
    storage.write_text(day / "export-1.jsonl", "{}\n")
    assert [p.name for p in storage.list_files(day)] == ["export-1.jsonl"]
    registry.register_model("sentiment", _model_dir(tmp_path / "v1", seed=1))
    assert [v.version for v in registry.list_versions("sentiment")] == ["1"]

    # Another worker (another process, here the provider hook) writes a file and registers version 2.
    cloud.put("raw/feedback/2026-11-22/export-2.jsonl", b"{}\n")
    manifest = registry.get_version("sentiment", 1).to_dict() | {"version": "2", "metrics": {"f1": 0.9}}
    cloud.put("models/sentiment/versions/2/manifest.json", json.dumps(manifest).encode())

    seen = [p.name for p in storage.list_files(day)]
    mv = registry.register_model("sentiment", _model_dir(tmp_path / "v3", seed=3))
    assert (seen, mv.version) == (["export-1.jsonl", "export-2.jsonl"], "3"), (
        f"stale listing: list_files saw {seen}, and register_model wrote version {mv.version} "
        "over the other worker's version 2")


def test_reports_and_models_pages_read_the_cloud_lake(cloud: Cloud, tmp_path: Path) -> None:
    """The UI's Reports/Models logic on a bucket: a report put by the provider's hook is listed (with its
    write time), rendered from the bucket, and a registry version shows as champion."""
    from include.platform import lifecycle, models_view, reports_view, storage

    md = b"# Cost report 2026-11-22\n\n| provider | cost |\n|---|---:|\n| aws | 12.5 |\n\n![c](daily.png)\n"
    cloud.put("reports/cost/2026-11-22/report.md", md)
    cloud.put("reports/cost/2026-11-22/daily.png", b"\x89PNG\r\n\x1a\n")
    cloud.put("reports/llm_fine_tuning/v2/report.md", b"# v2\n")
    cloud.put("reports/alerts/2026-11-22/x/k.slack.json", b"{}")

    listed = reports_view.list_reports()
    assert sorted(listed) == ["cloud_cost_report", "llm_fine_tuning"]
    (report,) = listed["cloud_cost_report"]
    assert (report.rel, report.day) == ("2026-11-22/report.md", "2026-11-22") and report.modified is not None
    path = reports_view.report_path("cloud_cost_report", report.rel)
    assert path.protocol.startswith(cloud.scheme) and type(path.fs).__name__ == cloud.fs_class
    html = reports_view.render_markdown(storage.read_text(path))
    assert '<td style="text-align:right">12.5</td>' in html and '<img src="daily.png"' in html
    assert storage.read_bytes(reports_view.report_path("cloud_cost_report", "2026-11-22/daily.png")).startswith(b"\x89PNG")

    weights = _model_dir(tmp_path / "m", seed=3)
    mv = lifecycle.register("sentiment", weights, registered_by="t.train", metrics={"macro_f1": 0.6}, challenger=True)
    lifecycle.apply_verdict("sentiment", mv.version, lifecycle.Verdict("promote", "t.promote", metrics={"macro_f1": 0.6}))
    (model,) = models_view.list_models()
    assert (model.name, model.champion, model.versions[0]["status"]) == ("sentiment", mv.version, "champion")
