"""Checks for the sentiment DAGs' Params that grant reach: which file, which connection.

A Param is typed by whoever triggers the DAG. Without these checks ``labeled_csv_uri`` read any file
the worker can see and ``llm_conn_id`` sent prompts (and the day's feedback) through any connection
in the deployment. Each check raises :class:`~include.platform.errors.ConfigError` — the task fails
at once, naming the fix — and each Param also carries a JSON-schema ``pattern`` (below) so the
trigger form refuses the obvious mistakes before a run exists. The ``model`` Params are checked in
:func:`include.sentiment.modeling.check_model_ref`, where every model is loaded.

Module level stays import-light: DAG files read the patterns at parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from include.platform.errors import ConfigError, PermanentError

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

#: The project's own LLM connection (docs/customer_sentiment_analysis.md); more via Variable
#: ``genai_allowed_connections``.
LLM_CONN_IDS = ("sentiment_llm",)
#: Connection ids as Airflow accepts them (letters, digits, ``_ . -``).
CONN_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,250}$"
#: Empty, a key under the lake's ``raw/`` zone (``labels/team.csv``), or a full lake URI; ``.csv`` only.
LABELED_CSV_PATTERN = r"^$|^[A-Za-z0-9_][A-Za-z0-9_./-]{0,500}\.csv$|^[a-z][a-z0-9+]{0,15}://[^\s]{1,1000}\.csv$"


def check_llm_conn_id(conn_id: str) -> str:
    """``conn_id`` if an operator allowed it (the project's ``sentiment_llm`` always is)."""
    from include.platform.settings import check_allowed

    return check_allowed("connections", conn_id, LLM_CONN_IDS)


def labeled_csv_path(value: str) -> ObjectStoragePath:
    """The lake path of a labeled CSV named by a raw-zone key or a lake URI; nothing outside ``raw/``."""
    from include.platform import storage

    fix = ("put the CSV under the lake's raw/ zone and pass its key (e.g. labels/team.csv) "
           "or its full lake URI")
    if not value.endswith(".csv"):
        raise ConfigError(f"labeled_csv_uri {value!r} does not name a .csv file", fix)
    try:
        path = storage.path_from_uri(value, zone_name="raw") if "://" in value else storage.lake_path("raw", value)
    except (ValueError, ImportError) as exc:  # PathRefused is a ValueError; so is an unknown protocol
        raise ConfigError(f"labeled_csv_uri {value!r} is refused: {exc}", fix) from exc
    if not path.is_file():
        raise ConfigError(f"labeled_csv_uri {value!r}: no file at {path}", fix)
    return path


def read_labeled_csv_text(path: ObjectStoragePath) -> str:
    """The CSV as text; a file that is not UTF-8 fails at once naming where, instead of a bare decode error."""
    from include.platform import storage
    from include.platform.lines import NotUtf8, decode_utf8

    try:
        return decode_utf8(storage.read_bytes(path))
    except NotUtf8 as exc:
        raise PermanentError(f"labeled CSV {path} is not UTF-8: byte 0x{exc.byte:02x} at offset {exc.byte_offset} "
                             f"(line {exc.line})", "re-export the file as UTF-8") from exc
