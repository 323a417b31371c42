"""Where evaluated points are kept between calls, so a retried task resumes its search.

The store is one small JSON document rewritten after every objective call (an atomic write on
every backend the lake supports), holding the points, their values and the seconds spent. Points
are only reused when the space fingerprint matches: changing the search space starts afresh
instead of feeding the optimizer points from another space.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from include.platform import storage

log = logging.getLogger(__name__)


@dataclass
class Trials:
    space_fingerprint: str
    x_iters: list[list[Any]] = field(default_factory=list)
    func_vals: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    attempts: int = 0

    def __len__(self) -> int:
        return len(self.x_iters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "space_fingerprint": self.space_fingerprint,
            "x_iters": self.x_iters,
            "func_vals": self.func_vals,
            "elapsed_s": round(self.elapsed_s, 3),
            "attempts": self.attempts,
        }


class TrialStore(Protocol):
    def load(self, space_fingerprint: str) -> Trials: ...

    def save(self, trials: Trials) -> None: ...


class LakeJsonTrialStore:
    """Trials as JSON at an ObjectStoragePath (local file, S3, GCS or ADLS through the lake)."""

    def __init__(self, path: storage.ObjectStoragePath):
        self.path = path

    def load(self, space_fingerprint: str) -> Trials:
        if not self.path.exists():
            return Trials(space_fingerprint)
        data = storage.read_json(self.path)
        if data.get("space_fingerprint") != space_fingerprint:
            log.warning("Stored trials at %s belong to another search space; starting afresh", self.path)
            return Trials(space_fingerprint)
        return Trials(
            space_fingerprint=space_fingerprint,
            x_iters=[list(x) for x in data.get("x_iters", [])],
            func_vals=[float(v) for v in data.get("func_vals", [])],
            elapsed_s=float(data.get("elapsed_s", 0.0)),
            attempts=int(data.get("attempts", 0)),
        )

    def save(self, trials: Trials) -> None:
        storage.write_json(self.path, trials.to_dict())
