"""The monitor's reach-granting Params: prefixes confined to raw/requests/, pools and connections allow-listed.

Every refusal is checked on real files: sentinels outside the lake and inside other lake zones must
be exactly as they were after the refused call (nothing listed, copied or deleted).
"""

from __future__ import annotations

import json
import os

import pytest

from include.platform.errors import ConfigError, PathRefused
from include.scaling import batches, guards, metrics

BASE = {"action": "pool", "pool_name": "inference", "gpu_pool": "gpu", "queue_pools": ["inference"],
        "pending_prefix": "raw/requests/pending", "kubernetes_conn_id": "kubernetes_default",
        "aws_conn_id": "aws_default"}


def check(values: dict):
    """Build the monitor's config directly (wiring included), which runs every guard."""
    from include.scaling.config import MonitorConfig

    return MonitorConfig(**values)


@pytest.fixture
def sentinels(lake, tmp_path):
    """A file outside the lake (beside it) and the registry's manifests inside it."""
    from include.platform import storage

    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "keep.json").write_text('{"prompt": "outside the lake"}')
    storage.write_json(storage.lake_path("models", "sentiment", "v1", "manifest.json"), {"prompt": "registry"})
    manifest = lake / "lake" / "models" / "sentiment" / "v1" / "manifest.json"
    snapshot = {p: p.read_bytes() for p in (outside / "keep.json", manifest)}
    yield {"outside": outside, "manifest": manifest}
    assert {p: p.read_bytes() for p in snapshot} == snapshot  # untouched, whatever the test did


@pytest.mark.parametrize("prefix", ["../x", "/tmp/x", "models", "models/sentiment", "raw", "raw/requests",
                                    "raw/feedback/incoming", "raw/requests/../../models",
                                    "raw/requests/%2e%2e/x", "raw/requests/.hidden", "raw\\requests\\pending", ""])
def test_prefix_outside_the_requests_area_is_a_config_error(prefix, sentinels):
    with pytest.raises(ConfigError, match="pending_prefix") as err:
        guards.pending_prefix(prefix)
    assert "raw/requests/" in str(err.value)  # the message names the fix
    with pytest.raises(ConfigError):
        metrics.list_pending(prefix)
    with pytest.raises(ConfigError):
        batches.claim([f"file://{sentinels['outside'] / 'keep.json'}"], "2026-11-22", prefix)
    with pytest.raises(ConfigError):
        check({**BASE, "pending_prefix": prefix})


def test_prefix_under_raw_requests_needs_the_allow_list(lake, monkeypatch):
    assert guards.pending_prefix("raw/requests/pending/") == "raw/requests/pending"
    with pytest.raises(ConfigError, match="genai_allowed_source_prefixes"):
        guards.pending_prefix("raw/requests/priority")
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_SOURCE_PREFIXES", "raw/requests/priority, models")
    assert guards.pending_prefix("raw/requests/priority") == "raw/requests/priority"
    with pytest.raises(ConfigError, match="outside the requests area"):  # the Variable cannot widen the area
        guards.pending_prefix("models")


def test_batch_refuses_uris_outside_its_prefix_before_touching_anything(lake, sentinels):
    from include.platform import storage

    pending = metrics.lake_prefix("raw/requests/pending")
    inside = batches.write_requests(pending, 2)
    for foreign in (f"file://{sentinels['outside'] / 'keep.json'}", f"file://{sentinels['manifest']}",
                    f"{pending}/../../feedback/x.json"):
        with pytest.raises(PathRefused):
            batches.claim([*inside, foreign], "2026-11-22", "raw/requests/pending")
    assert metrics.list_pending("raw/requests/pending") == sorted(inside)  # the valid ones were not touched either
    assert not storage.lake_path("curated", "requests", "2026-11-22").exists()


def test_symlinks_under_the_prefix_are_neither_listed_nor_processed(lake, sentinels):
    pending = metrics.lake_prefix("raw/requests/pending")
    batches.write_requests(pending, 1)
    link = lake / "lake" / "raw" / "requests" / "pending" / "evil.json"
    os.symlink(sentinels["outside"] / "keep.json", link)
    listed = metrics.list_pending("raw/requests/pending")
    assert len(listed) == 1 and "evil" not in listed[0]
    with pytest.raises(PathRefused, match="symlink"):
        batches.claim([f"file://{link}"], "2026-11-22", "raw/requests/pending")
    assert link.is_symlink()


def test_symlinked_prefix_folder_cannot_lead_out_of_the_area(lake, sentinels):
    area = lake / "lake" / "raw" / "requests"
    area.mkdir(parents=True)
    (area / "pending").symlink_to(sentinels["outside"], target_is_directory=True)
    with pytest.raises(PathRefused, match="outside"):
        metrics.list_pending("raw/requests/pending")


def test_undecodable_request_is_quarantined_with_its_byte_offset(lake):
    from include.platform import storage

    pending = metrics.lake_prefix("raw/requests/pending")
    storage.write_bytes(pending / "latin1.json", b'{"prompt": "caf\xe9"}')
    requests, quarantined = batches.claim(metrics.list_pending("raw/requests/pending"), "2026-11-22",
                                          "raw/requests/pending")
    assert (requests, quarantined) == ([], 1)
    qdir = lake / "lake" / "quarantine" / "requests" / "2026-11-22"
    assert (qdir / "latin1.json").read_bytes() == b'{"prompt": "caf\xe9"}'
    reason = json.loads((qdir / "latin1.json.reason.json").read_text())
    assert reason["reason"].startswith("not UTF-8") and reason["byte_offset"] == 15
    assert metrics.list_pending("raw/requests/pending") == []


@pytest.mark.parametrize("key,value", [("pool_name", "default_pool"), ("gpu_pool", "default_pool"),
                                       ("pool_name", "llm_api"), ("pool_name", "a/b"), ("pool_name", "x?y=1"),
                                       ("pool_name", ""), ("pool_name", 3)])
def test_pools_outside_the_projects_are_refused(key, value):
    with pytest.raises(ConfigError):
        check({**BASE, key: value})


def test_default_pool_stays_refused_even_if_allow_listed(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_POOLS", "default_pool,batch_gpu")
    with pytest.raises(ConfigError, match="default_pool never is"):
        guards.resizable_pool("default_pool")
    assert guards.resizable_pool("batch_gpu") == "batch_gpu"  # an operator-added pool is fine
    assert guards.queue_pools(["inference", "llm_api", "batch_gpu"]) == ["inference", "llm_api", "batch_gpu"]
    with pytest.raises(ConfigError, match="differen"):
        check({**BASE, "pool_name": "gpu"})  # scaler and GPU admission on one pool


def test_resize_refuses_default_pool_before_any_request():
    from include.scaling.actions.pool import resize_pool

    with pytest.raises(ConfigError):
        resize_pool(None, "default_pool", 0)  # None: a request would fail differently


@pytest.mark.parametrize("action,key", [("kubernetes", "kubernetes_conn_id"), ("aws", "aws_conn_id")])
def test_connection_ids_are_allow_listed_per_action(action, key, monkeypatch):
    cfg = check({**BASE, "action": action})
    assert getattr(cfg, key) == BASE[key]
    with pytest.raises(ConfigError, match="genai_allowed_connections"):
        check({**BASE, "action": action, key: "warehouse_default"})
    with pytest.raises(ConfigError, match="not a valid connection id"):
        check({**BASE, "action": action, key: "../x"})
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_ALLOWED_CONNECTIONS", "k8s_prod,aws_prod")
    other = "k8s_prod" if action == "kubernetes" else "aws_prod"
    assert getattr(check({**BASE, "action": action, key: other}), key) == other


def test_dag_params_carry_the_same_patterns(dagbag):
    """The trigger form refuses what the run-time checks refuse; connection ids are not in the form at all."""
    for dag_id in ("autoscaling_monitor", "batch_inference"):
        dag = dagbag.get_dag(dag_id)
        assert dag.params.get_param("pending_prefix").schema["pattern"] == guards.PENDING_PREFIX_PATTERN
        for key, bad in [("pending_prefix", "models"), ("pending_prefix", "../x")]:
            with pytest.raises(Exception, match="does not match"):
                dag.params.get_param(key).resolve(bad)
        assert dag.params.get_param("pending_prefix").resolve("raw/requests/pending") == "raw/requests/pending"
    dag = dagbag.get_dag("autoscaling_monitor")
    schema = {k: dag.params.get_param(k).schema for k in ("pool_name", "gpu_pool", "queue_pools")}
    assert schema["pool_name"]["pattern"] == schema["gpu_pool"]["pattern"] == guards.POOL_PATTERN
    assert schema["queue_pools"]["items"]["pattern"] == guards.POOL_PATTERN
    assert not {"kubernetes_conn_id", "aws_conn_id"} & set(dag.params)
    for key, bad in [("pool_name", "default_pool"), ("queue_pools", ["default_pool"])]:
        with pytest.raises(Exception, match="does not match"):
            dag.params.get_param(key).resolve(bad)
