"""LakePrefixTrigger: a file dropped under the watched lake prefix yields one event, never twice.

Runs the trigger's async generator against a real local lake (the ``lake`` fixture's folder), as
the triggerer would, polling every 20 ms. ``_DictStore`` stands in for Airflow's asset state store
(the triggerer's comms channel is not there in a unit test); it has the store's ``aget``/``aset``.
"""

from __future__ import annotations

import asyncio
import importlib
import os

import pytest

from include.platform import storage

QUIET_S = 0.3  # ~15 polls with nothing new: long enough to see a refire if there were one


@pytest.fixture(scope="module")
def trigger_cls():
    import airflow  # noqa: F401 - puts plugins/ on sys.path, as in the triggerer

    return importlib.import_module("genai_airflow.lake.triggers").LakePrefixTrigger


class _DictStore:
    def __init__(self):
        self.values: dict = {}

    async def aget(self, key, default=None):
        return self.values.get(key, default)

    async def aset(self, key, value):
        self.values[key] = value


def _drop(name: str, body: bytes = b"x") -> None:
    storage.write_bytes(storage.lake_path("raw", "features", *name.split("/")), body)


class _Running:
    """The trigger's generator driven by one task, as the triggerer drives it; events land in a queue.

    (Timing out on ``__anext__`` itself would cancel, and so close, the generator.)
    """

    def __init__(self, trigger):
        self.events: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._drive(trigger))

    async def _drive(self, trigger):
        async for event in trigger.run():
            await self.events.put(event.payload)

    async def aclose(self):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def _run(trigger) -> _Running:
    return _Running(trigger)


async def _next(gen: _Running, timeout: float):
    """The next event's payload, or None when nothing comes within ``timeout``."""
    if gen.task.done():
        gen.task.result()  # surface the trigger's error
    try:
        return await asyncio.wait_for(gen.events.get(), timeout)
    except TimeoutError:
        return None


def test_serialize_round_trips_and_takes_no_io_at_construction(trigger_cls, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_GENAI_LAKE_ROOT", "s3://no-such-bucket/lake")  # would fail if touched
    trigger = trigger_cls(zone="raw", parts=["features"], poll_interval=5)
    path, kwargs = trigger.serialize()
    assert path == "genai_airflow.lake.triggers.LakePrefixTrigger"
    assert kwargs == {"zone": "raw", "parts": ["features"], "poll_interval": 5.0, "fire_existing": False}
    assert trigger_cls(zone="raw").serialize()[1]["poll_interval"] is None  # read in the triggerer
    assert importlib.import_module(path.rsplit(".", 1)[0]).LakePrefixTrigger(**kwargs).serialize() == (path, kwargs)


def test_dropped_file_fires_once_and_existing_files_are_the_baseline(trigger_cls, lake):
    _drop("2026-11-20/batch.parquet")  # there before the watch started

    async def scenario():
        trigger = trigger_cls(zone="raw", parts=["features"], poll_interval=0.02)
        gen = _run(trigger)
        assert await _next(gen, QUIET_S) is None  # the existing file is the baseline
        _drop("2026-11-22/batch.parquet", b"new batch")
        first = await _next(gen, 5)
        again = await _next(gen, QUIET_S)
        await gen.aclose()
        return first, again

    first, again = asyncio.run(scenario())
    assert first["key"] == "2026-11-22/batch.parquet" and first["size"] == len(b"new batch")
    assert first["uri"] == f"file://{lake / 'lake' / 'raw' / 'features' / '2026-11-22' / 'batch.parquet'}"
    assert again is None, f"refired: {again}"


def test_replaced_file_fires_again_and_temp_files_never_do(trigger_cls, lake):
    _drop("2026-11-22/batch.parquet", b"v1")

    async def scenario():
        gen = _run(trigger_cls(zone="raw", parts=["features"], poll_interval=0.02))
        assert await _next(gen, QUIET_S) is None
        hidden = lake / "lake" / "raw" / "features" / "2026-11-22" / ".batch.parquet.abc.tmp"
        hidden.write_bytes(b"half-written")
        quiet = await _next(gen, QUIET_S)
        _drop("2026-11-22/batch.parquet", b"v2 is longer")  # replaced: new size and mtime
        replaced = await _next(gen, 5)
        await gen.aclose()
        return quiet, replaced

    quiet, replaced = asyncio.run(scenario())
    assert quiet is None
    assert replaced["key"] == "2026-11-22/batch.parquet" and replaced["size"] == len(b"v2 is longer")


def test_restart_with_the_state_store_reports_what_arrived_while_down_and_nothing_else(trigger_cls, lake):
    store = _DictStore()
    _drop("2026-11-20/batch.parquet")

    async def first_life():
        trigger = trigger_cls(zone="raw", parts=["features"], poll_interval=0.02)
        trigger.asset_state_store = store
        gen = _run(trigger)
        assert await _next(gen, QUIET_S) is None  # baseline taken
        _drop("2026-11-21/batch.parquet")
        event = await _next(gen, 5)
        await _next(gen, QUIET_S)
        await gen.aclose()
        return event

    async def second_life():
        trigger = trigger_cls(zone="raw", parts=["features"], poll_interval=0.02)
        trigger.asset_state_store = store
        gen = _run(trigger)
        events = [await _next(gen, 5), await _next(gen, QUIET_S)]
        await gen.aclose()
        return events

    assert asyncio.run(first_life())["key"] == "2026-11-21/batch.parquet"
    assert sorted(store.values["lake_prefix_seen"]) == ["2026-11-20/batch.parquet", "2026-11-21/batch.parquet"]
    _drop("2026-11-22/batch.parquet")  # lands while the triggerer is down
    arrived, then = asyncio.run(second_life())
    assert arrived["key"] == "2026-11-22/batch.parquet" and then is None


def test_fire_existing_reports_what_is_there_on_first_start(trigger_cls, lake):
    _drop("2026-11-20/batch.parquet")
    _drop("2026-11-21/batch.parquet")

    async def scenario():
        gen = _run(trigger_cls(zone="raw", parts=["features"], poll_interval=0.02, fire_existing=True))
        events = [await _next(gen, 5), await _next(gen, 5), await _next(gen, QUIET_S)]
        await gen.aclose()
        return events

    a, b, none = asyncio.run(scenario())
    assert (a["key"], b["key"], none) == ("2026-11-20/batch.parquet", "2026-11-21/batch.parquet", None)


def test_absent_prefix_is_quiet_until_the_first_file(trigger_cls, lake):
    assert not os.path.exists(lake / "lake" / "raw" / "features")

    async def scenario():
        gen = _run(trigger_cls(zone="raw", parts=["features"], poll_interval=0.02))
        quiet = await _next(gen, QUIET_S)
        _drop("2026-11-22/batch.parquet")
        event = await _next(gen, 5)
        await gen.aclose()
        return quiet, event

    quiet, event = asyncio.run(scenario())
    assert quiet is None and event["key"] == "2026-11-22/batch.parquet"
