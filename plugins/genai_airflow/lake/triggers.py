"""``LakePrefixTrigger``: a file landing under a lake prefix becomes an asset event (AssetWatcher).

Used as ``Asset(..., watchers=[AssetWatcher(name=..., trigger=LakePrefixTrigger(zone="raw",
parts=["features"]))])``: the triggerer runs it for as long as a DAG is scheduled on the asset, and
each event it yields is one asset event (``extra = {"from_trigger": True, "payload": {key, uri,
fingerprint, size}}``), which is what starts the consumer DAG.

No parse-time I/O: the constructor only stores its arguments; the lake root (a Variable) and the
connection are resolved in the triggerer, in a worker thread (``asyncio.to_thread``) with the
listing itself, so neither DAG parsing nor the triggerer's event loop ever waits on storage.
What is "new" and how it is remembered across restarts: see :mod:`include.platform.lake_watch`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from include.platform import lake_watch

_STATE_KEY = "lake_prefix_seen"


class LakePrefixTrigger(BaseEventTrigger):
    """Poll ``<lake>/<zone>/<parts...>`` every ``poll_interval`` s; one event per new or replaced object.

    ``poll_interval=None``: Variable ``genai_lake_watch_poll_s`` (default 60), read in the triggerer,
    so the interval changes without touching the DAG (the trigger's kwargs are its identity).

    ``fire_existing``: with no remembered state, report what is already there (default: take it as
    the baseline). State lives in the asset state store when the triggerer injects one, else in memory.
    """

    def __init__(self, zone: str, parts: list[str] | tuple[str, ...] = (), poll_interval: float | None = None,
                 fire_existing: bool = False) -> None:
        super().__init__()
        self.zone = zone
        self.parts = list(parts)
        self.poll_interval = float(poll_interval) if poll_interval is not None else None
        self.fire_existing = bool(fire_existing)
        self._seen: dict[str, str] | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"zone": self.zone, "parts": self.parts, "poll_interval": self.poll_interval,
                 "fire_existing": self.fire_existing})

    def _list(self) -> dict[str, lake_watch.LakeObject]:
        return lake_watch.list_objects(lake_watch.watched_prefix(self.zone, self.parts))

    async def _load_seen(self) -> dict[str, str] | None:
        if self._seen is not None or self.asset_state_store is None:
            return self._seen
        stored = await self.asset_state_store.aget(_STATE_KEY)
        return dict(stored) if isinstance(stored, dict) else None

    async def _store_seen(self, seen: dict[str, str]) -> None:
        if seen == self._seen:
            return  # unchanged: no write to the metadata DB on every quiet poll
        self._seen = seen
        if self.asset_state_store is not None:
            await self.asset_state_store.aset(_STATE_KEY, seen)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        interval = self.poll_interval or await asyncio.to_thread(lake_watch.poll_interval_s)
        seen = await self._load_seen()
        if seen is None:  # first start ever: what is there now is the baseline, unless asked otherwise
            seen = {} if self.fire_existing else lake_watch.remember(await asyncio.to_thread(self._list))
        await self._store_seen(seen)
        self.log.info("LakePrefixTrigger watching %s/%s every %.0f s; %d objects already seen",
                      self.zone, "/".join(self.parts), interval, len(seen))
        while True:
            current = await asyncio.to_thread(self._list)
            for obj in lake_watch.diff(seen, current):
                yield TriggerEvent(obj.payload())
                # Remembered after the triggerer took the event: a crash in between refires this one
                # object on restart (at least once; consumers are idempotent per day), never loses it.
                seen = {**seen, obj.key: obj.fingerprint}
                await self._store_seen(seen)
            seen = lake_watch.remember(current)
            await self._store_seen(seen)
            await asyncio.sleep(interval)
