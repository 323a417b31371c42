"""A declared search space as plain data, so it can live in a Param, a JSON file or a test.

Our own types (not skopt's) keep the archived library out of every signature: if skopt stops
installing, only ``search._skopt_dimensions`` changes (Optuna's distributions map one to one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Dimension:
    """One hyper-parameter: ``kind`` is ``real``, ``integer`` or ``categorical``."""

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.kind not in ("real", "integer", "categorical"):
            raise ValueError(f"dimension {self.name!r}: kind must be real, integer or categorical, not {self.kind!r}")
        if self.kind == "categorical":
            if not self.choices:
                raise ValueError(f"dimension {self.name!r}: a categorical dimension needs choices")
        elif self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(f"dimension {self.name!r}: needs low < high (got {self.low}, {self.high})")
        if self.log and (self.low is None or self.low <= 0):
            raise ValueError(f"dimension {self.name!r}: a log-scaled range must start above 0")

    def cast(self, value: Any) -> Any:
        """A stored value back to the dimension's Python type (JSON turns 3.0 into 3 and back)."""
        if self.kind == "integer":
            return int(round(value))
        if self.kind == "real":
            return float(value)
        return value

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = list(self.choices)
        return data


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def as_params(self, point: list[Any]) -> dict[str, Any]:
        return {d.name: d.cast(v) for d, v in zip(self.dimensions, point, strict=True)}

    def as_point(self, values: dict[str, Any]) -> list[Any]:
        return [d.cast(values[d.name]) for d in self.dimensions]

    def to_dict(self) -> dict[str, Any]:
        return {d.name: d.to_dict() for d in self.dimensions}

    def fingerprint(self) -> str:
        """Stable id of the space: stored trials are only reused for the same space."""
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:16]

    def with_overrides(self, overrides: dict[str, Any] | None) -> SearchSpace:
        """Narrow or widen ranges by name: ``{"learning_rate": [0.01, 0.1]}`` or a full dimension dict.

        Unknown names raise, so a typo in a trigger form fails loudly instead of being ignored.
        """
        if not overrides:
            return self
        by_name = {d.name: d for d in self.dimensions}
        unknown = sorted(set(overrides) - set(by_name))
        if unknown:
            raise KeyError(f"search_space overrides name unknown dimensions {unknown}; known: {sorted(by_name)}")
        out = []
        for dim in self.dimensions:
            change = overrides.get(dim.name)
            if change is None:
                out.append(dim)
            elif isinstance(change, dict):
                out.append(Dimension(**({"name": dim.name, "kind": dim.kind, "log": dim.log} | change)))
            elif dim.kind == "categorical":
                out.append(Dimension(dim.name, dim.kind, choices=tuple(change)))
            else:
                low, high = change
                out.append(Dimension(dim.name, dim.kind, low=low, high=high, log=dim.log))
        return SearchSpace(tuple(out))


def real(name: str, low: float, high: float, log: bool = False) -> Dimension:
    return Dimension(name, "real", low=low, high=high, log=log)


def integer(name: str, low: int, high: int, log: bool = False) -> Dimension:
    return Dimension(name, "integer", low=low, high=high, log=log)


def categorical(name: str, *choices: Any) -> Dimension:
    return Dimension(name, "categorical", choices=tuple(choices))
