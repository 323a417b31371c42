"""Write validated FOCUS rows so that a restated export *replaces* its window instead of adding to it.

Why not only :func:`include.platform.warehouse.replace_rows` by natural key: the key carries
``x_RowKey``, a hash of the row's dimensions *including its tags*. When a provider restates a
period (tags backfilled, a resource renamed) every restated row gets a new key, so an upsert by key
keeps the old row *and* adds the new one, and the cost of that day counts twice.

So each source that was read in full for the look-back window declares a :class:`ReplaceScope`
(source, providers, window), and the load is, in **one transaction**::

    DELETE the rows of every scope          -- the previous version of those exports
    DELETE the rows whose natural key is incoming (sources without a scope: upsert by key)
    INSERT the incoming rows

The incoming rows are staged first with ``replace_rows`` into ``focus_costs_staging`` (a fresh
table of the same shape), so the transaction is three plain, portable SQL statements over the
warehouse's own ``connect()``; DuckDB and Postgres run the same text. A source that was *not* read
in full (a quarantined file, a degraded API) gets no scope: its earlier rows are kept rather than
wiped by a partial read, and its readable rows are upserted by key. The price: if that provider
*also* restated its tags in the same delivery, its readable rows sit beside their old versions
until the bad file is fixed and the day rerun (the report lists the file). The alternative, replacing
the days a readable file covers, would delete the rows of a bad part of a multi-part export
(AWS splits a month into parts with interleaved days) on every bad delivery, restated or not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from include.costs.focus import KEY_COLUMNS, TABLE, TABLE_COLUMNS
from include.platform import warehouse

if TYPE_CHECKING:
    import pandas as pd
    from airflow.providers.common.sql.hooks.sql import DbApiHook

log = logging.getLogger(__name__)

STAGING = f"{TABLE}_staging"


@dataclass(frozen=True)
class ReplaceScope:
    """Rows of ``source`` charged from ``start`` to ``end`` (both days inclusive), optionally only
    those of ``providers``; ``providers=()`` is an empty scope (nothing to replace)."""

    source: str
    start: date
    end: date
    providers: tuple[str, ...] | None = None

    def where(self) -> tuple[str, list[Any]] | None:
        """SQL condition (``?`` placeholders) selecting the scope's rows; None for an empty scope."""
        if self.providers is not None and not self.providers:
            return None
        sql = ("x_Source = ? AND ChargePeriodStart >= CAST(? AS TIMESTAMPTZ) "
               "AND ChargePeriodStart < CAST(? AS TIMESTAMPTZ)")
        params: list[Any] = [self.source, f"{self.start.isoformat()} 00:00:00+00",
                             f"{(self.end + timedelta(days=1)).isoformat()} 00:00:00+00"]
        if self.providers is not None:
            sql += f" AND ProviderName IN ({', '.join('?' for _ in self.providers)})"
            params += list(self.providers)
        return sql, params

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "providers": None if self.providers is None else list(self.providers)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ReplaceScope:
        providers = raw.get("providers")
        return cls(raw["source"], date.fromisoformat(raw["start"]), date.fromisoformat(raw["end"]),
                   None if providers is None else tuple(providers))


def write_rows(frame: pd.DataFrame, scopes: list[ReplaceScope], hook: DbApiHook | None = None) -> dict[str, int]:
    """Replace every scope's rows and upsert the rest by natural key, atomically.

    Returns ``{"written": rows inserted, "replaced": rows of earlier exports removed by scope}``.
    """
    hook = hook or warehouse.get_hook()
    frame = frame[list(TABLE_COLUMNS)]
    # The target exists with our columns: created from the dtypes, or migrated when a table written by
    # an earlier release lacks some (the full FOCUS 1.2 set added 30 columns): ALTER TABLE ... ADD
    # COLUMN, nullable, so its rows read null there, as the spec asks where a value is unknown.
    warehouse.replace_rows(TABLE, frame.iloc[0:0], list(KEY_COLUMNS), hook=hook, add_columns=True)
    warehouse.execute(f"DROP TABLE IF EXISTS {STAGING}", hook=hook)
    warehouse.replace_rows(STAGING, frame, list(KEY_COLUMNS), hook=hook)
    cols = ", ".join(TABLE_COLUMNS)
    same_key = " AND ".join(f"s.{k} = {TABLE}.{k}" for k in KEY_COLUMNS)
    replaced = 0
    with warehouse.connect(hook) as conn:
        cur = conn.cursor()
        for scope in scopes:
            clause = scope.where()
            if clause is None:
                continue
            sql, params = clause
            cur.execute(warehouse.adapt_placeholders(f"SELECT COUNT(*) FROM {TABLE} WHERE {sql}", hook), params)
            replaced += int(cur.fetchone()[0])
            cur.execute(warehouse.adapt_placeholders(f"DELETE FROM {TABLE} WHERE {sql}", hook), params)
        cur.execute(f"DELETE FROM {TABLE} WHERE EXISTS (SELECT 1 FROM {STAGING} s WHERE {same_key})")
        cur.execute(f"INSERT INTO {TABLE} ({cols}) SELECT {cols} FROM {STAGING}")
    warehouse.execute(f"DROP TABLE IF EXISTS {STAGING}", hook=hook)
    log.info("Wrote %d rows into %s; %d rows of earlier exports replaced in %d scope(s)", len(frame), TABLE,
             replaced, len(scopes))
    return {"written": len(frame), "replaced": replaced}
