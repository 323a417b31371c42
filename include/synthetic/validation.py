"""Great Expectations Core 1.x validation of a synthetic sample against a suite derived from the real table.

The suite encodes what "looks like the real table" means at the schema level: the same columns,
numeric values inside the real min/max, integer/float types, categories from the real set, a
unique non-null id and null rates no higher than the real ones plus a tolerance. It runs on an
*ephemeral* GX context (nothing written to a GX project folder) with a pandas dataframe batch; the
full GX result JSON is returned for storage next to the run, with one readable line per failure.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from include.synthetic.schema import TableSchema

log = logging.getLogger(__name__)

SUITE_NAME = "synthetic_matches_real_table"


def build_suite(schema: TableSchema, null_tolerance: float = 0.02, expected_rows: int | None = None) -> Any:
    """An ``ExpectationSuite`` derived from the real table's schema (ranges, categories, null rates).

    Built from the full list of expectations in one constructor call: ``suite.add_expectation`` on a suite
    not yet added to a context needs an *active* GX context, which a fresh task process does not have
    (a run on Celery failed exactly so; tests/include/platform/test_gx.py builds it in a fresh interpreter).
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    found: list[Any] = [gxe.ExpectTableColumnsToMatchSet(column_set=schema.id_columns + schema.names,
                                                         exact_match=True)]
    if expected_rows is not None:
        found.append(gxe.ExpectTableRowCountToEqual(value=expected_rows))
    for column in schema.id_columns:
        found += [gxe.ExpectColumnValuesToNotBeNull(column=column), gxe.ExpectColumnValuesToBeUnique(column=column)]
    for spec in schema.columns:
        mostly = max(0.0, 1.0 - spec.null_rate - null_tolerance) if spec.has_nulls else 1.0
        found.append(gxe.ExpectColumnValuesToNotBeNull(column=spec.name, mostly=round(mostly, 6)))
        if spec.dtype in ("int", "float"):
            types = ["int64", "Int64", "int32"] if spec.dtype == "int" else ["float64", "float32", "Float64"]
            found.append(gxe.ExpectColumnValuesToBeInTypeList(column=spec.name, type_list=types))
        if spec.is_continuous:
            found.append(gxe.ExpectColumnValuesToBeBetween(column=spec.name, min_value=spec.minimum,
                                                           max_value=spec.maximum))
        else:
            found.append(gxe.ExpectColumnValuesToBeInSet(column=spec.name, value_set=list(spec.categories)))
    return gx.ExpectationSuite(name=SUITE_NAME, expectations=found)


def _describe_failure(result: dict[str, Any]) -> str:
    """One line a data engineer can act on: which check, which column, how many rows, examples."""
    config = result.get("expectation_config", {})
    kind = config.get("type", "expectation")
    kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k not in ("batch_id", "column")}
    column = config.get("kwargs", {}).get("column")
    res = result.get("result", {}) or {}
    where = f"column {column!r}" if column else "table"
    parts = [f"{kind} failed on {where}"]
    if "unexpected_count" in res and res.get("element_count"):
        parts.append(f"{res['unexpected_count']} of {res['element_count']} rows "
                     f"({res.get('unexpected_percent') or 0:.1f}%) unexpected")
    if res.get("partial_unexpected_list"):
        parts.append(f"e.g. {res['partial_unexpected_list'][:5]}")
    if "observed_value" in res:
        parts.append(f"observed {res['observed_value']!r}")
    if result.get("exception_info", {}).get("raised_exception"):
        parts.append(f"error: {result['exception_info'].get('exception_message')}")
    expected = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if v is not None)
    if expected:
        parts.append(f"expected {expected}")
    return "; ".join(parts)


def validate(frame: pd.DataFrame, schema: TableSchema, null_tolerance: float = 0.02,
             expected_rows: int | None = None, name: str = "synthetic_sample") -> dict[str, Any]:
    """Validate ``frame`` against the suite derived from ``schema`` on an ephemeral context.

    Returns success, one readable line per failed expectation, GX's statistics, the full GX result
    JSON and the suite JSON (both stored with the run).
    """
    from include.platform.gx import validate_frame

    suite = build_suite(schema, null_tolerance, expected_rows)
    result = validate_frame(frame, suite, source=f"{name}_source", asset=name, batch=f"{name}_batch")
    payload = result.to_json_dict()
    failures = [_describe_failure(r) for r in payload.get("results", []) if not r.get("success")]
    stats = payload.get("statistics", {})
    log.info("GX %s: %s/%s expectations passed", SUITE_NAME, stats.get("successful_expectations"),
             stats.get("evaluated_expectations"))
    return {"success": bool(payload.get("success")), "failures": failures, "statistics": stats, "result": payload,
            "suite": suite.to_json_dict()}


def row_problems(frame: pd.DataFrame, schema: TableSchema) -> list[str]:
    """Per row, the row-level rules of the suite it breaks, in words ("" for a row that breaks none).

    The quarantine record of a rejected candidate says why *this* row is suspect where a row-level
    rule applies (a value outside the real range, an unseen category, a missing id); set-level
    failures (quality, privacy, null rates) belong to no single row.
    """
    problems: list[list[str]] = [[] for _ in range(len(frame))]

    def flag(mask: Any, text: Any) -> None:
        for i in mask.to_numpy().nonzero()[0]:
            problems[i].append(text(i))

    for column in schema.id_columns:
        if column in frame:
            flag(frame[column].isna(), lambda i, c=column: f"{c} is missing")
    for spec in schema.columns:
        if spec.name not in frame:
            continue
        values = frame[spec.name]
        if spec.is_continuous and spec.minimum is not None and spec.maximum is not None:
            numbers = pd.to_numeric(values, errors="coerce")
            flag(values.notna() & ~numbers.between(spec.minimum, spec.maximum),
                 lambda i, s=spec, v=values: f"{s.name} {_plain(v.iloc[i])!r} outside the real range [{s.minimum:g}, {s.maximum:g}]")
        elif not spec.is_continuous:
            flag(values.notna() & ~values.isin(spec.categories),
                 lambda i, s=spec, v=values: f"{s.name} {_plain(v.iloc[i])!r} is not a category of the real table")
    return ["; ".join(p) for p in problems]


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones (``17``, not ``np.int64(17)``) in the words of a reason."""
    return value.item() if hasattr(value, "item") else value
