from __future__ import annotations

import pytest

from include.platform import registry


def _artifact(tmp_path, name="m", content=b"weights-1"):
    d = tmp_path / name
    d.mkdir()
    (d / "model.safetensors").write_bytes(content)
    (d / "config.json").write_text('{"hidden": 8}')
    return d


def test_register_resolve_download_and_promote(lake, tmp_path):
    v1 = registry.register_model("clf", _artifact(tmp_path, "a"), metrics={"f1": 0.8}, alias="champion")
    v2 = registry.register_model("clf", _artifact(tmp_path, "b", b"weights-2"), metrics={"f1": 0.9},
                                 metadata={"base": "minilm"}, alias="challenger")
    assert (v1.version, v2.version) == ("1", "2")
    assert registry.resolve("clf@champion").version == "1"
    assert registry.resolve("clf/2").metadata == {"base": "minilm"}

    mv, local = registry.download("clf@challenger", cache_dir=tmp_path / "cache")
    assert (local / "model.safetensors").read_bytes() == b"weights-2" and mv.metrics == {"f1": 0.9}

    mapping = registry.promote("clf", "2")
    assert mapping == {"champion": "2", "previous": "1"}
    assert registry.resolve("clf@champion").version == "2"
    assert [v.version for v in registry.list_versions("clf")] == ["1", "2"]


def test_pickles_are_refused(lake, tmp_path):
    d = _artifact(tmp_path)
    (d / "model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(registry.RegistryError, match="refusing pickle-based files"):
        registry.register_model("clf", d)


def test_tampered_artifact_fails_checksum(lake, tmp_path):
    registry.register_model("clf", _artifact(tmp_path), alias="champion")
    (lake / "lake" / "models" / "clf" / "versions" / "1" / "model.safetensors").write_bytes(b"evil")
    with pytest.raises(registry.RegistryError, match="checksum mismatch"):
        registry.download("clf@champion", cache_dir=tmp_path / "cache")


def test_missing_alias_says_what_to_run(lake):
    with pytest.raises(registry.RegistryError, match="no 'champion' alias yet"):
        registry.resolve("sentiment@champion")


def test_status_is_recorded(lake, tmp_path):
    registry.register_model("clf", _artifact(tmp_path))
    registry.set_status("clf", 1, "rejected", {"reason": "error rate 20% > 5%"})
    assert registry.get_version("clf", 1).status_details == {"reason": "error rate 20% > 5%"}
