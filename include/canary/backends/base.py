"""The one interface every traffic backend implements, so one policy drives them all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # analysis imports scipy: not needed to choose or drive a backend
    from include.canary.analysis import Sample


@runtime_checkable
class TrafficBackend(Protocol):
    """Shift traffic between champion and challenger, and read what each served in a window.

    A *marker* is an opaque JSON value meaning "now" for the backend (the router's request sequence
    number locally, an ISO timestamp for cloud metrics); ``window(start)`` reads from it to now.
    """

    kind: str

    def set_challenger_weight(self, percent: int) -> Any:
        """Route ``percent``% to the challenger and the rest to the champion; return the start marker."""

    def current_weights(self) -> dict[str, int]:
        """``{"champion": pct, "challenger": pct}`` as the backend reports it now."""

    def window(self, start: Any) -> tuple[Sample, Sample, Any]:
        """(champion, challenger, end marker) for the requests served since ``start``."""

    def wait_spec(self, start: Any) -> dict[str, Any]:
        """What the bake trigger may poll to end a bake early (``counts_url``), or ``{}``."""


def target_kwargs(label: str, target: dict[str, Any], required: tuple[str, ...],
                  optional: tuple[str, ...] = ("metrics_period",)) -> dict[str, Any]:
    """A cloud backend's constructor arguments from the DAG's ``target`` Param.

    A missing or empty required key is a ``BackendError`` that names it, so the analyst sees which
    key to add to ``target`` instead of a ``TypeError`` from a constructor.
    """
    missing = [k for k in required if not target.get(k)]
    if missing:
        from include.canary.backends import BackendError  # the package imports this module

        raise BackendError(f"{label} target needs {missing} (got {sorted(target)})")
    return {k: target[k] for k in (*required, *optional) if k in target}
