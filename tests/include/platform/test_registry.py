from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from include.platform import registry
from include.platform.errors import PathRefused, PermanentError

ROOT = Path(__file__).resolve().parents[3]


def _artifact(tmp_path, name="m", content=b"weights-1"):
    d = tmp_path / name
    d.mkdir()
    (d / "model.safetensors").write_bytes(content)
    (d / "config.json").write_text('{"hidden": 8}')
    return d


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes: what a refused call must leave exactly as it was."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_register_resolve_download_and_promote(lake, tmp_path):
    v1 = registry.register_model("clf", _artifact(tmp_path, "a"), metrics={"f1": 0.8}, alias="champion")
    v2 = registry.register_model("clf", _artifact(tmp_path, "b", b"weights-2"), metrics={"f1": 0.9},
                                 metadata={"base": "minilm"}, alias="challenger")
    assert (v1.version, v2.version) == ("1", "2")
    assert registry.resolve("clf@champion").version == "1"
    assert registry.resolve("clf/2").metadata == {"base": "minilm"}
    assert registry.get_version("clf", 2) == registry.get_version("clf", "2")

    mv, local = registry.download("clf@challenger", cache_dir=tmp_path / "cache")
    assert (local / "model.safetensors").read_bytes() == b"weights-2" and mv.metrics == {"f1": 0.9}

    mapping = registry.promote("clf", "2")
    assert mapping == {"champion": "2", "previous": "1"}
    assert registry.resolve("clf@champion").version == "2"
    assert [v.version for v in registry.list_versions("clf")] == ["1", "2"]
    assert json.loads((lake / "lake" / "models" / "clf" / "aliases.json").read_text()) == mapping
    assert not (lake / "lake" / "models" / "clf" / "locks" / "registry.lock").exists()  # lease released


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
    assert not list((tmp_path / "cache").rglob("*.part")), "a failed download left its temp file"


def test_missing_champion_is_permanent_and_names_the_dag(lake):
    with pytest.raises(registry.MissingModelError) as caught:
        registry.resolve("sentiment@champion")
    err = caught.value
    # Fails the task at once (AirflowFailException), and old `except RegistryError` callers still catch it.
    assert isinstance(err, PermanentError) and isinstance(err, registry.RegistryError)
    assert isinstance(err, RuntimeError)
    assert "no 'champion' alias yet" in str(err)
    assert "run DAG train_sentiment_model" in str(err) and "make run DAG=train_sentiment_model" in str(err)


def test_missing_alias_of_an_unknown_model_says_how_to_register(lake):
    with pytest.raises(registry.MissingModelError, match=r"no 'challenger' alias yet.*registry.register_model"):
        registry.resolve("my_model@challenger")
    with pytest.raises(registry.MissingModelError, match=r"has no version 7.*run DAG adaptive_retraining"):
        registry.get_version("churn", 7)


def test_every_registered_model_names_its_producing_dag():
    """Each MODEL_NAME the project registers maps to a DAG file that exists (grep keeps the map honest)."""
    names = set()
    for path in (ROOT / "include").rglob("*.py"):
        names |= set(re.findall(r'^(?:MODEL_NAME|DEMO_MODEL)\s*=\s*"([^"]+)"', path.read_text(), re.M))
    assert names and names <= set(registry.PRODUCERS), names - set(registry.PRODUCERS)
    for dag_id in registry.PRODUCERS.values():
        assert (ROOT / "dags" / f"{dag_id}.py").exists(), dag_id


@pytest.mark.parametrize("ref", [
    "clf/../../x", "clf/../../../dags/evil", "../x@champion", "../../dags/x/1", "clf/0", "clf/-1", "clf/1.0",
    "clf/01", "clf/abc", "clf/1/2", "Clf@champion", "clf@king", "clf", "/etc/passwd", "clf%2f..%2f..@champion",
    "..\\..\\x/1", "clf\\..\\..@champion", "", "clf@", "@champion", "a" * 65 + "/1",
])
def test_malformed_references_are_refused(lake, tmp_path, ref):
    registry.register_model("clf", _artifact(tmp_path), alias="champion")
    before = _tree(tmp_path)
    with pytest.raises(registry.InvalidReferenceError) as caught:
        registry.download(ref, cache_dir=tmp_path / "cache")
    assert isinstance(caught.value, PermanentError)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("name", ["../../dags", "..", "a/b", "UPPER", "-x", ".hidden", "x" * 65, "a\\b", "a:b", ""])
def test_invalid_names_register_nothing(lake, tmp_path, name):
    art = _artifact(tmp_path)
    before = _tree(tmp_path)
    with pytest.raises(registry.InvalidReferenceError, match="invalid model name"):
        registry.register_model(name, art)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("bad", [-1, 0, True, 1.5, "1 ", "+1", "../1"])
def test_versions_are_positive_integers(lake, bad):
    with pytest.raises(registry.InvalidReferenceError):
        registry.get_version("clf", bad)


def _plant_manifest(lake: Path, changes: dict) -> None:
    """Rewrite clf/1's stored manifest by hand, as an attacker with write access to the bucket would."""
    path = lake / "lake" / "models" / "clf" / "versions" / "1" / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


DIGEST = hashlib.sha256(b"pwned").hexdigest()


@pytest.mark.parametrize(("changes", "error", "match"), [
    ({"files": {"../../../../outside/evil.txt": DIGEST}}, PathRefused, "'..' segment"),
    ({"files": {"../../../../dags/evil.py": DIGEST}}, PathRefused, "'..' segment"),
    ({"files": {"/tmp/evil.txt": DIGEST}}, PathRefused, "absolute path"),
    ({"files": {"%2e%2e/%2e%2e/%2e%2e/evil.txt": DIGEST}}, PathRefused, "percent-encoding"),
    ({"files": {"..%2f..%2f..%2fevil.txt": DIGEST}}, PathRefused, "percent-encoding"),
    ({"files": {"..\\..\\..\\evil.txt": DIGEST}}, PathRefused, "backslash"),
    ({"files": {"C:evil.txt": DIGEST}}, PathRefused, "colon"),
    ({"files": {"weights.pkl": DIGEST}}, PathRefused, "pickle-based"),
    ({"files": {"manifest.json": DIGEST}}, PathRefused, "reserved"),
    ({"files": {"model.safetensors": "not-a-sha"}}, registry.ManifestError, "no valid sha256"),
    ({"name": "../../outside"}, registry.ManifestError, "claims to be"),
    ({"name": "other"}, registry.ManifestError, "claims to be"),
    ({"version": "../../../outside"}, registry.ManifestError, "claims to be"),
    ({"version": "2"}, registry.ManifestError, "claims to be"),
    ({"extra": "x"}, registry.ManifestError, "unknown keys"),
])
def test_malicious_manifests_write_nothing_outside_the_cache(lake, tmp_path, changes, error, match):
    registry.register_model("clf", _artifact(tmp_path), alias="champion")
    _plant_manifest(lake, changes)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel.txt").write_text("untouched")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "real_dag.py").write_text("# a DAG")
    before = _tree(tmp_path)

    for call in (lambda: registry.download("clf@champion", cache_dir=tmp_path / "cache"),
                 lambda: registry.download("clf/1", cache_dir=tmp_path / "cache"),
                 lambda: registry.get_version("clf", 1),
                 lambda: registry.list_versions("clf")):
        with pytest.raises(error, match=match) as caught:
            call()
        assert isinstance(caught.value, PermanentError)
    assert _tree(tmp_path) == before, "a refused manifest changed or added files"
    assert not (tmp_path / "cache").exists()


def test_a_symlink_planted_in_the_cache_cannot_redirect_the_download(lake, tmp_path):
    registry.register_model("clf", _artifact(tmp_path), alias="champion")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel.txt").write_text("untouched")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "clf").symlink_to(outside, target_is_directory=True)
    before = _tree(outside)
    with pytest.raises(PathRefused, match="lies outside"):
        registry.download("clf@champion", cache_dir=cache)
    assert _tree(outside) == before


def test_hostile_alias_file_is_refused(lake, tmp_path):
    registry.register_model("clf", _artifact(tmp_path), alias="champion")
    aliases = lake / "lake" / "models" / "clf" / "aliases.json"
    aliases.write_text(json.dumps({"champion": "../../../outside"}))
    with pytest.raises(registry.ManifestError, match="invalid version"):
        registry.resolve("clf@champion")
    aliases.write_text(json.dumps({"owner": "1"}))
    with pytest.raises(registry.ManifestError, match="not an alias map"):
        registry.aliases("clf")


def test_registered_file_names_go_through_the_path_guard(lake, tmp_path):
    art = _artifact(tmp_path)
    (art / "bad:name.json").write_text("{}")
    with pytest.raises(PathRefused, match="colon"):
        registry.register_model("clf", art)
    assert not (lake / "lake" / "models" / "clf" / "versions").exists()


def test_claims_skip_interrupted_and_hand_written_versions(lake, tmp_path):
    """Version numbers are claimed: a crashed upload's number and a foreign version folder are never reused."""
    registry.register_model("clf", _artifact(tmp_path, "a"))
    models = lake / "lake" / "models" / "clf"
    # version 2 claimed by a registration that died before writing its manifest
    (models / "claims" / "2.json").write_text("{}")
    (models / "versions" / "2").mkdir()
    (models / "versions" / "2" / "model.safetensors").write_bytes(b"partial")
    # version 3 written by hand (a layout from before claims existed)
    manifest = json.loads((models / "versions" / "1" / "manifest.json").read_text()) | {"version": "3"}
    (models / "versions" / "3").mkdir()
    (models / "versions" / "3" / "manifest.json").write_text(json.dumps(manifest))
    mv = registry.register_model("clf", _artifact(tmp_path, "b", b"weights-4"))
    assert mv.version == "4"
    assert [v.version for v in registry.list_versions("clf")] == ["1", "3", "4"]
    assert (models / "versions" / "2" / "model.safetensors").read_bytes() == b"partial"


def test_status_is_recorded(lake, tmp_path):
    registry.register_model("clf", _artifact(tmp_path))
    registry.set_status("clf", 1, "rejected", {"reason": "error rate 20% > 5%"})
    assert registry.get_version("clf", 1).status_details == {"reason": "error rate 20% > 5%"}
    assert registry.get_version("clf", 1).status == "rejected"
