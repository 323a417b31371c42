"""Where demo data may go: the project's default local lake, and only into objects that do not exist yet.

The demo generators write realistic-looking inputs (feedback, customers, cost exports) into
``raw/``, which the real pipelines consume. In a real lake they would mix fake records into real
reports, train on them, and — before this guard — overwrite real objects of the same name. So:

* the *default local lake* is the one used when Variable ``genai_lake_root`` is unset: files under
  ``<genai_data_dir>/lake`` (``<project>/data/lake`` unless ``genai_data_dir`` moves the project's data
  folder). Any other root — a bucket, or another local folder — is someone's real lake;
* ``make start``'s first-start seeding (scripts/first_run.py) skips any other lake, and the
  ``seed_demo_data`` DAG refuses one unless its trigger sets ``allow_other_lake``;
* on every lake, the writers (:mod:`include.demo.writers`) never overwrite: an object that exists is
  skipped and logged.
"""

from __future__ import annotations

from pathlib import Path

from include.platform.errors import ConfigError
from include.platform.settings import data_dir, get_setting


def default_lake_path(data_folder: Path | str | None = None) -> Path:
    """The default local lake folder: ``<data dir>/lake``."""
    return Path(data_folder if data_folder is not None else data_dir()) / "lake"


def is_default_local_lake(lake_root: str | None, data_folder: Path | str | None = None) -> bool:
    """True when ``lake_root`` (the Variable's value, None/"" if unset) means the default local lake.

    Unset is the default; so is the same folder spelled out (``file:///…/data/lake`` or a plain path).
    """
    if lake_root is None or not lake_root.strip():
        return True
    root = lake_root.strip()
    if root.startswith("file://"):
        root = root[len("file://"):]
    elif "://" in root:
        return False
    return Path(root).resolve() == default_lake_path(data_folder).resolve()


def require_seedable_lake(allow_other_lake: bool = False) -> str:
    """The lake root the demo may be seeded into; raises ``ConfigError`` for a lake that is not ours."""
    configured = get_setting("lake_root")
    if is_default_local_lake(configured):
        return f"file://{default_lake_path()}"
    if allow_other_lake:
        return str(configured)
    raise ConfigError(
        f"the lake root is {configured!r}, not the project's default local lake ({default_lake_path()}): "
        "demo data would mix into a real lake's raw/ zone",
        "seed it only on purpose: trigger seed_demo_data with allow_other_lake=true (existing objects are "
        "still never overwritten), or unset Variable genai_lake_root to use the local lake",
    )
