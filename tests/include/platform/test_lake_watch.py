"""lake_watch: what is new under a prefix, how it is fingerprinted, which day a watcher run is about."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from include.platform import lake_watch, storage


def test_listing_is_recursive_relative_and_skips_hidden_and_temp_files(lake):
    storage.write_bytes(storage.lake_path("raw", "features", "2026-11-22", "batch.parquet"), b"abc")
    (lake / "lake" / "raw" / "features" / "2026-11-22" / ".batch.parquet.1234.tmp").write_bytes(b"half")
    objects = lake_watch.list_objects(lake_watch.watched_prefix("raw", ["features"]))
    assert list(objects) == ["2026-11-22/batch.parquet"]
    assert objects["2026-11-22/batch.parquet"].size == 3
    assert objects["2026-11-22/batch.parquet"].fingerprint.startswith("mtime:") and ":3" in \
        objects["2026-11-22/batch.parquet"].fingerprint
    assert lake_watch.list_objects(lake_watch.watched_prefix("raw", ["no-such-prefix"])) == {}


def test_diff_reports_new_and_replaced_objects_and_remember_prunes_vanished_keys():
    def obj(key, fp):
        return lake_watch.LakeObject(key=key, uri=f"s3://b/lake/raw/features/{key}", fingerprint=fp, size=1)

    seen = {"a": "etag:1", "b": "etag:2", "gone": "etag:9"}
    current = {"a": obj("a", "etag:1"), "b": obj("b", "etag:3"), "c": obj("c", "etag:4")}
    assert [o.key for o in lake_watch.diff(seen, current)] == ["b", "c"]
    assert lake_watch.remember(current) == {"a": "etag:1", "b": "etag:3", "c": "etag:4"}


def test_fingerprint_prefers_the_etag_over_time_and_size():
    assert lake_watch.fingerprint({"ETag": '"abc"', "size": 3, "LastModified": datetime(2026, 1, 1)}) == "etag:abc"
    assert lake_watch.fingerprint({"mtime": 1700000000.5, "size": 3}) == "mtime:1700000000.5:3"


def test_arrived_day_is_the_newest_day_folder_of_the_watcher_events():
    def event(extra):
        return SimpleNamespace(extra=extra)

    context = {"triggering_asset_events": {"feature_batch": [
        event({"from_trigger": True, "payload": {"key": "2026-11-21/batch.parquet"}}),
        event({"from_trigger": True, "payload": {"key": "2026-11-22/batch.parquet"}}),
        event({"from_trigger": True, "payload": {"key": "loose-file.parquet"}}),
        event({"rows": 10}),  # an outlet event (seed_demo_data): no payload
    ]}}
    assert lake_watch.arrived_day(context) == date(2026, 11, 22)
    assert lake_watch.arrived_day({"triggering_asset_events": {"x": [event({})]}}) is None
    assert lake_watch.arrived_day({}) is None
