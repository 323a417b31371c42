"""The scaling Params that grant reach, checked before anything is read, resized or deleted.

Anyone who may trigger ``autoscaling_monitor`` or ``batch_inference`` fills its form. Unchecked, that form could

* point ``pending_prefix`` anywhere in (or, before the path guard, outside) the lake — batch_inference
  quarantines and *deletes* what it finds there, so ``models`` would wipe the registry's manifests;
* resize any pool — ``default_pool`` to 0 stops every task of the deployment;
* hand the scaling action any connection id (whatever credentials the deployment holds).

So each value is confined: the prefix to the requests area ``raw/requests/<...>`` and an allow-list,
pools to the project's own (never ``default_pool``), connection ids to an allow-list. Allow-lists
grow only through Variables an operator sets (``genai_allowed_<kind>``, see
:func:`include.platform.settings.check_allowed`), never through the trigger form. Everything here
fails with :class:`~include.platform.errors.ConfigError` (permanent, names the fix) when the task turns
its Params into a config (``MonitorConfig.check`` / ``BatchInferenceConfig.check``), before any I/O.
Connection ids, namespaces and resource ids are deployment wiring (Variables ``genai_scaling_*``), not
Params; the connection ids are still allow-listed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from include.platform.errors import ConfigError, PathRefused
from include.platform.paths import clean_parts
from include.platform.settings import check_allowed

#: Pending work lives under this lake area and nowhere else.
REQUESTS_AREA = ("raw", "requests")
DEFAULT_PENDING_PREFIXES = ("raw/requests/pending",)

#: Pools the monitor may resize (the batch pool and the GPU admission pool) ...
RESIZABLE_POOLS = ("inference", "gpu")
#: ... and pools it may count for queue depth (read only).
QUEUE_POOLS = ("inference", "gpu", "llm_api")
#: Resized by nobody, whatever an allow-list says: every task without a pool runs there.
NEVER_RESIZED = frozenset({"default_pool"})

DEFAULT_KUBERNETES_CONNECTIONS = ("kubernetes_default",)
DEFAULT_AWS_CONNECTIONS = ("aws_default",)

# JSON-schema patterns for the DAG's Params (the trigger form refuses a bad value before a run
# exists); the checks below repeat them because a run can also be created through the API or CLI.
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"
PENDING_PREFIX_PATTERN = rf"^raw/requests/{_SEGMENT}(/{_SEGMENT})*/?$"
POOL_PATTERN = r"^(?!default_pool$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}$"
CONN_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}$"


def pending_prefix(value: Any) -> str:
    """``value`` normalised (``raw/requests/x``, no trailing ``/``) when it is an allowed requests prefix."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"pending_prefix {value!r} is empty or not a string",
                          "use a prefix under raw/requests/, e.g. raw/requests/pending")
    try:
        segments = clean_parts(value)
    except PathRefused as exc:
        raise ConfigError(f"pending_prefix {value!r} refused: {exc.problem}",
                          "use a relative prefix under raw/requests/, e.g. raw/requests/pending") from exc
    if tuple(segments[:2]) != REQUESTS_AREA or len(segments) < 3 or not re.match(PENDING_PREFIX_PATTERN, value):
        raise ConfigError(
            f"pending_prefix {value!r} is outside the requests area raw/requests/<folder> (the batcher "
            "deletes what it has processed there)",
            "use a prefix under raw/requests/, e.g. raw/requests/pending")
    return check_allowed("source_prefixes", "/".join(segments), DEFAULT_PENDING_PREFIXES)


def _pool_name(value: Any, param: str) -> str:
    if not isinstance(value, str) or not re.match(POOL_PATTERN, value):
        raise ConfigError(f"{param} {value!r} is not a pool this DAG may use (default_pool never is)",
                          "pick one of the project's pools: " + ", ".join(RESIZABLE_POOLS))
    return value


def resizable_pool(value: Any, param: str = "pool_name") -> str:
    """A pool the monitor may resize: allow-listed (``genai_allowed_pools``), never ``default_pool``."""
    name = _pool_name(value, param)
    if name in NEVER_RESIZED:  # unreachable through the pattern; kept should the pattern change
        raise ConfigError(f"{param} {name!r} is never resized", "pick a pool of this project")
    return check_allowed("pools", name, RESIZABLE_POOLS)


def queue_pools(values: Iterable[Any] | None) -> list[str]:
    """Pools counted for queue depth; each allow-listed like a resizable pool (read only, wider list)."""
    names = list(values or [])
    return [check_allowed("pools", _pool_name(v, "queue_pools entry"), QUEUE_POOLS) for v in names]


def connection(value: Any, defaults: tuple[str, ...], param: str) -> str:
    """A connection id the scaling action may use: pattern + ``genai_allowed_connections``."""
    if not isinstance(value, str) or not re.match(CONN_ID_PATTERN, value):
        raise ConfigError(f"{param} {value!r} is not a valid connection id",
                          f"use one of {list(defaults)} or an id an operator allowed")
    return check_allowed("connections", value, defaults)


def check_monitor(cfg: Any) -> None:
    """Check every reach-granting value of a :class:`~include.scaling.config.MonitorConfig`.

    Raises ConfigError on the first bad one. Connection ids are checked only for the action that
    uses them, so a deployment without AWS never has to allow-list ``aws_default`` to run the pool action.
    """
    pool_name = resizable_pool(cfg.pool_name, "pool_name")
    gpu_pool = resizable_pool(cfg.gpu_pool, "gpu_pool")
    if cfg.action == "pool" and pool_name == gpu_pool:
        raise ConfigError(f"pool_name and gpu_pool are both {pool_name!r}: the scaler and GPU admission "
                          "would overwrite each other's slots", "give them different pools")
    queue_pools(cfg.queue_pools)
    pending_prefix(cfg.pending_prefix)
    if cfg.action == "kubernetes":
        connection(cfg.kubernetes_conn_id, DEFAULT_KUBERNETES_CONNECTIONS, "kubernetes_conn_id")
    if cfg.action == "aws":
        connection(cfg.aws_conn_id, DEFAULT_AWS_CONNECTIONS, "aws_conn_id")
