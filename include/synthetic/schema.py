"""What each column of a table is, inferred once from the real data and stored with the model.

The same ``TableSchema`` drives the generator's encoding, the GX expectation suite and the metric
types (KS vs TV complement), so the three never disagree about a column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Integer columns with at most this many distinct values are modelled as categories (one-hot):
#: a satisfaction score 1-5 or a 0/1 label is a choice among levels, not a continuous quantity.
DEFAULT_MAX_INT_LEVELS = 10


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str  # "continuous" | "categorical"
    dtype: str  # "int" | "float" | "str" | "bool"
    has_nulls: bool = False
    null_rate: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    decimals: int = 0
    categories: list[Any] = field(default_factory=list)

    @property
    def is_continuous(self) -> bool:
        return self.kind == "continuous"


@dataclass(frozen=True)
class TableSchema:
    columns: list[ColumnSpec]
    id_columns: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def continuous(self) -> list[ColumnSpec]:
        return [c for c in self.columns if c.is_continuous]

    @property
    def categorical(self) -> list[ColumnSpec]:
        return [c for c in self.columns if not c.is_continuous]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [asdict(c) for c in self.columns], "id_columns": list(self.id_columns)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSchema:
        return cls(columns=[ColumnSpec(**c) for c in data["columns"]], id_columns=list(data.get("id_columns", [])))


def _decimals(values: np.ndarray, max_decimals: int = 6) -> int:
    """Fewest decimals that represent every value exactly (prices have 2), so output is rounded alike."""
    for d in range(max_decimals + 1):
        if np.allclose(values, np.round(values, d), rtol=0, atol=1e-9):
            return d
    return max_decimals


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def infer_schema(
    frame: pd.DataFrame,
    id_columns: tuple[str, ...] | list[str] = (),
    max_int_levels: int = DEFAULT_MAX_INT_LEVELS,
) -> TableSchema:
    """Column kinds, ranges, categories and null rates of ``frame`` (id columns are not modelled)."""
    specs = []
    for name in frame.columns:
        if name in id_columns:
            continue
        series = frame[name]
        nulls = float(series.isna().mean())
        present = series.dropna()
        if pd.api.types.is_bool_dtype(series.dtype):
            specs.append(ColumnSpec(name, "categorical", "bool", nulls > 0, nulls,
                                    categories=sorted(bool(v) for v in present.unique())))
        elif pd.api.types.is_integer_dtype(series.dtype) or (
            pd.api.types.is_float_dtype(series.dtype) and len(present) and np.all(present == np.round(present))
            and present.nunique() <= max_int_levels
        ):
            levels = sorted(int(v) for v in present.unique())
            if len(levels) <= max_int_levels:
                specs.append(ColumnSpec(name, "categorical", "int", nulls > 0, nulls,
                                        minimum=float(min(levels)), maximum=float(max(levels)), categories=levels))
            else:
                specs.append(ColumnSpec(name, "continuous", "int", nulls > 0, nulls,
                                        minimum=float(present.min()), maximum=float(present.max())))
        elif pd.api.types.is_numeric_dtype(series.dtype):
            values = present.to_numpy(dtype="float64")
            specs.append(ColumnSpec(name, "continuous", "float", nulls > 0, nulls,
                                    minimum=float(values.min()), maximum=float(values.max()),
                                    decimals=_decimals(values)))
        else:
            specs.append(ColumnSpec(name, "categorical", "str", nulls > 0, nulls,
                                    categories=sorted(str(_py(v)) for v in present.unique())))
    return TableSchema(columns=specs, id_columns=list(id_columns))


def conform(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Cast generated values to the real table's dtypes (nullable ints when a column has gaps)."""
    out = pd.DataFrame(index=frame.index)
    for spec in schema.columns:
        s = frame[spec.name]
        if spec.dtype == "int":
            s = pd.to_numeric(s).round()
            out[spec.name] = s.astype("Int64") if s.isna().any() else s.astype("int64")
        elif spec.dtype == "float":
            out[spec.name] = pd.to_numeric(s).astype("float64").round(spec.decimals)
        elif spec.dtype == "bool":
            out[spec.name] = s.astype("boolean") if s.isna().any() else s.astype(bool)
        else:
            out[spec.name] = s.astype(object).where(s.notna(), None)
    return out
