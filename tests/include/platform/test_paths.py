"""The path guard on lake paths, URIs from XCom/Params and local cache paths: refused, and nothing written.

Every refusal is checked twice: the exception (a PermanentError naming the fix) and the filesystem
(sentinel files outside the lake untouched, no new file anywhere under the test's folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from include.platform import paths, storage
from include.platform.errors import PathRefused, PermanentError

TRAVERSALS = [
    "..", "../outside.txt", "../../dags/evil.py", "a/../../outside.txt", "a/./b", "a//b", "./a",
    "/etc/passwd", "/tmp/outside.txt", "~/outside.txt", "~root/x",
    "%2e%2e/outside.txt", "..%2foutside.txt", "%2E%2E%2F%2E%2E%2Foutside.txt", "a/%2e%2e/%2e%2e/x",
    "%252e%252e/outside.txt", "%25252e%25252e/x", "a%5c..%5c..%5cx",
    "..\\outside.txt", "a\\..\\..\\x", "C:\\Windows\\x", "c:x", "s3://other-bucket/x", "file:///etc/passwd",
    "a\x00b", "a\nb", "",
]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def sentinels(tmp_path: Path) -> Path:
    """Files a traversal from ``<tmp>/data/lake/<zone>`` would reach: the data dir, the tmp dir, a dags/ folder."""
    (tmp_path / "outside.txt").write_text("outside")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "evil.py").write_text("# the real dags folder")
    (tmp_path / "data" / "outside.txt").write_text("data dir")
    storage.write_text(storage.lake_path("raw", "inside.txt"), "inside")
    return tmp_path


@pytest.mark.parametrize("part", TRAVERSALS)
def test_lake_path_refuses_traversal_and_writes_nothing(lake, sentinels, part):
    before = _tree(sentinels)
    with pytest.raises(PathRefused) as caught:
        storage.write_text(storage.lake_path("raw", part), "pwned")
    assert isinstance(caught.value, PermanentError) and caught.value.fix
    with pytest.raises(PathRefused):
        storage.lake_path("raw", "feedback", part, "x.txt")
    assert _tree(sentinels) == before


@pytest.mark.parametrize("part", TRAVERSALS)
def test_safe_local_join_refuses_traversal(tmp_path, part):
    with pytest.raises(PathRefused):
        paths.safe_local_join(tmp_path / "cache", "model", part)


@pytest.mark.parametrize("suffix", [
    "../outside.txt", "raw/../../outside.txt", "raw/%2e%2e/%2e%2e/outside.txt", "raw/..%2f..%2foutside.txt",
    "raw/%252e%252e/outside.txt", "raw/a%00b",
])
def test_uris_from_xcom_must_stay_in_the_lake(lake, sentinels, suffix):
    uri = f"file://{lake}/lake/{suffix}"
    before = _tree(sentinels)
    with pytest.raises(PathRefused):
        storage.write_text(storage.path_from_uri(uri), "pwned")
    assert _tree(sentinels) == before


def test_uris_outside_the_lake_or_its_zone_are_refused(lake, sentinels):
    with pytest.raises(PathRefused, match="outside"):
        storage.path_from_uri(f"file://{sentinels}/outside.txt")
    with pytest.raises(PathRefused, match="outside"):
        storage.path_from_uri(f"file://{lake}/lake/raw/inside.txt", zone_name="models")
    with pytest.raises(PathRefused, match="filesystem"):
        storage.path_from_uri("s3://bucket/lake/raw/x.txt")
    assert storage.read_text(storage.path_from_uri(f"file://{lake}/lake/raw/inside.txt", zone_name="raw")) == "inside"


def test_plain_names_pass(lake):
    assert paths.clean_parts("raw/requests/pending/", "2026-11-22", 3, "a.b-c_d%20e") == [
        "raw", "requests", "pending", "2026-11-22", "3", "a.b-c_d%20e"]
    assert str(storage.lake_path("raw", "feedback/2026-11-22", "export.jsonl")).endswith(
        "/lake/raw/feedback/2026-11-22/export.jsonl")


def test_a_symlink_out_of_a_local_cache_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathRefused, match="lies outside"):
        paths.safe_local_join(cache, "link", "x.txt")
    assert paths.safe_local_join(cache, "model", "1", "x.txt") == cache.resolve() / "model" / "1" / "x.txt"


def test_overlong_parts_are_refused():
    with pytest.raises(PathRefused, match="too long"):
        paths.clean_parts("a" * (paths.MAX_PART_CHARS + 1))
