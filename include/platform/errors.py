"""Errors that a retry cannot fix.

Airflow retries every failed task ``retries`` times with back-off. That is right for a flaky network
and wrong for a missing champion, a refused path or an invalid config: three retries over a minute
end with the same message. Raising :class:`PermanentError` (an ``AirflowFailException``) fails the
task at once, and the message must say how to fix it.

``include/`` stays importable without a scheduler: the Task SDK's exception module is a plain
import that needs no metadata DB.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


class PermanentError(AirflowFailException):
    """A failure no retry can fix; its message names the fix."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} — fix: {fix}" if fix else problem)


class PathRefused(PermanentError, ValueError):
    """A path from a Param, a manifest or input data that would leave its root (``..``, absolute, encoded)."""


class ConfigError(PermanentError, ValueError):
    """A Param, Variable or connection value that is invalid; the message names the knob."""
