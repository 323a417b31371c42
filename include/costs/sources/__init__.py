"""Cost sources, chosen in ONE place (``source_for``) from the source's name.

=========================  ====================  ====================================================
source                     module                needs
=========================  ====================  ====================================================
``airflow_platform``       ``airflow``           nothing (embedded default: Airflow REST API × rate card)
``focus_files``            ``focus_files``       FOCUS exports under ``raw/costs/focus/<provider>/``
``aws_cost_explorer``      ``aws``               connection ``cfg.aws_conn_id`` (type aws)
``azure_cost_management``  ``azure``             connection ``cfg.azure_conn_id`` (type azure)
``gcp_billing_export``     ``gcp``               connection ``cfg.gcp_conn_id`` + ``cfg.gcp_billing_table``
=========================  ====================  ====================================================

Every source module exposes the same two functions, both taking the run's
:class:`~include.costs.config.CostConfig`:

* ``missing(cfg) -> str | None``: what to add to enable the source (an unconfigured cloud is
  *skipped* with that reason, never an error), or None when it can be read;
* ``read(cfg, start, end) -> SourceRead``: FOCUS-shaped rows (normalized by
  :func:`include.costs.focus.normalize`) charged from ``start`` to ``end`` (both inclusive), what
  could not be read, and whether the read may replace the window's earlier rows.

Modules are imported on use: each pulls its cloud SDK, and this module is imported by the config
(at DAG parse time) for the list of names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: Source name → module under ``include/costs/sources/`` (form order: embedded default first).
MODULES: dict[str, str] = {
    "airflow_platform": "airflow",
    "focus_files": "focus_files",
    "aws_cost_explorer": "aws",
    "azure_cost_management": "azure",
    "gcp_billing_export": "gcp",
}
SOURCE_NAMES: tuple[str, ...] = tuple(MODULES)


@dataclass
class SourceRead:
    """One source's rows for the window, plus what it could not read (quarantine records)."""

    frame: pd.DataFrame
    status: str = "ok"
    #: Read in full for the window: its earlier rows there are replaced (a restated export). Else the
    #: rows are upserted by natural key and earlier rows are kept rather than wiped by a partial read.
    replaces_window: bool = True
    #: With ``replaces_window``: replace only these providers' rows (None = every provider of the source).
    providers: tuple[str, ...] | None = None
    #: Unreadable rows: ``source_file``, ``line``, ``reason`` and the raw values.
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    #: Unreadable whole files: ``source_file``, ``line``, ``byte_offset``, ``reason``.
    rejected_files: list[dict[str, Any]] = field(default_factory=list)


class UnknownSource(ValueError):
    """A source name no module implements; the message lists the known ones."""


def source_for(name: str) -> ModuleType:
    """The module implementing source ``name`` (``missing(cfg)``, ``read(cfg, start, end)``)."""
    try:
        module = MODULES[name]
    except KeyError:
        raise UnknownSource(f"unknown cost source {name!r}; expected one of {', '.join(SOURCE_NAMES)}") from None
    return importlib.import_module(f"{__name__}.{module}")


__all__ = ["MODULES", "SOURCE_NAMES", "SourceRead", "UnknownSource", "source_for"]
