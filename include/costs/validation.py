"""Validate normalized cost rows against the FOCUS 1.2 spec with Great Expectations.

Why GX in the load and not ``focus-validator``: the only release pip offers on Python 3.11 (1.0.0)
validates FOCUS 1.0 at most, pins pandera 0.17 and numpy 1.x and breaks with ``multimethod`` 2.x, so
it cannot share the venv with Airflow 3.3; it runs from its own venv on the per-day export in the tests
(:mod:`include.costs.conformance`). GX Core 1.24 is already in the stack, so the spec's normative
statements we rely on are written here as expectations, each citing its rule. Row-level failures name
the rows that broke them; those rows are quarantined with the rule as the reason, the rest are loaded.
A table-level failure (a missing or unprefixed column) stops the load.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from include.costs.focus import (
    ALL_SERVICE_SUBCATEGORIES,
    CAPACITY_RESERVATION_STATUSES,
    CHARGE_CATEGORIES,
    CHARGE_CLASSES,
    CHARGE_FREQUENCIES,
    COMMITMENT_DISCOUNT_CATEGORIES,
    COMMITMENT_DISCOUNT_STATUSES,
    COST_COLUMNS,
    DATETIME_COLUMNS,
    DECIMAL_COLUMNS,
    EXTRA_COLUMNS,
    FOCUS_COLUMNS,
    JSON_COLUMNS,
    KEY_COLUMNS,
    PRICING_CATEGORIES,
    SERVICE_CATEGORIES,
    SERVICE_SUBCATEGORIES,
    TABLE_COLUMNS,
)

log = logging.getLogger(__name__)

#: The largest finite float: the bound that makes "between" reject inf / -inf (NaN is a null).
FINITE_MAX = sys.float_info.max


class FocusSchemaError(ValueError):
    """The frame's columns do not follow the spec; nothing was loaded."""


@dataclass
class ValidationOutcome:
    valid: pd.DataFrame
    quarantined: pd.DataFrame  # the failing rows plus a ``reason`` column
    results: list[dict[str, Any]] = field(default_factory=list)  # one per expectation

    @property
    def success(self) -> bool:
        return all(r["success"] for r in self.results)


def expectations() -> list[Any]:
    """FOCUS 1.2 rules as GX expectations (the spec section in each comment)."""
    import great_expectations as gx

    e = gx.expectations
    out: list[Any] = [e.ExpectColumnToExist(column=c) for c in TABLE_COLUMNS]
    # Column naming: custom columns MUST be prefixed x_ (spec §2.x "Column Naming and Ordering").
    out.append(e.ExpectTableColumnsToMatchSet(column_set=list(TABLE_COLUMNS), exact_match=True))
    # BilledCost/EffectiveCost/ListCost/ContractedCost: MUST NOT be null, MUST be a decimal.
    # A decimal is a finite number: "inf", "-inf" and "1e309" (which parses as inf) pass a float
    # type check and a not-null check, then poison every sum; the between rule names them.
    for col in COST_COLUMNS:
        out.append(e.ExpectColumnValuesToNotBeNull(column=col))
        out.append(e.ExpectColumnValuesToBeInTypeList(column=col, type_list=["float64", "float32", "int64"]))
        out.append(e.ExpectColumnValuesToBeBetween(column=col, min_value=-FINITE_MAX, max_value=FINITE_MAX))
    # The other Decimal columns (quantities, unit prices): a finite decimal when present.
    for col in DECIMAL_COLUMNS:
        if col not in COST_COLUMNS:
            out.append(e.ExpectColumnValuesToBeInTypeList(column=col, type_list=["float64", "float32", "int64"]))
            out.append(e.ExpectColumnValuesToBeBetween(column=col, min_value=-FINITE_MAX, max_value=FINITE_MAX))
    # ListUnitPrice / ContractedUnitPrice: MUST be a non-negative decimal value.
    for col in ("ListUnitPrice", "ContractedUnitPrice"):
        out.append(e.ExpectColumnValuesToBeBetween(column=col, min_value=0, max_value=FINITE_MAX))
    # BillingAccountId, BillingCurrency, ChargeCategory, ChargeFrequency, ProviderName, PublisherName,
    # InvoiceIssuerName, ServiceName, ServiceCategory, ServiceSubcategory, the four period columns:
    # MUST NOT be null.
    for col in ("BillingAccountId", "BillingCurrency", "ChargeCategory", "ChargeFrequency", "ProviderName",
                "PublisherName", "InvoiceIssuerName", "ServiceName", "ServiceCategory",
                "ServiceSubcategory") + DATETIME_COLUMNS:
        out.append(e.ExpectColumnValuesToNotBeNull(column=col))
    # BillingCurrency: an ISO 4217 alphabetic code.
    out.append(e.ExpectColumnValuesToMatchRegex(column="BillingCurrency", regex=r"^[A-Z]{3}$"))
    # ChargePeriodEnd / BillingPeriodEnd: exclusive end, later than the start.
    out.append(e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ChargePeriodEnd", column_B="ChargePeriodStart"))
    out.append(e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="BillingPeriodEnd", column_B="BillingPeriodStart"))
    # ChargeCategory / ChargeClass / ServiceCategory: values from the spec's allowed lists.
    out.append(e.ExpectColumnValuesToBeInSet(column="ChargeCategory", value_set=list(CHARGE_CATEGORIES)))
    # ChargeFrequency / PricingCategory / CommitmentDiscountCategory / CommitmentDiscountStatus /
    # CapacityReservationStatus / ServiceSubcategory likewise (null, where allowed, is not checked here).
    allowed = {"ChargeCategory": CHARGE_CATEGORIES, "ChargeClass": CHARGE_CLASSES,
               "ChargeFrequency": CHARGE_FREQUENCIES, "PricingCategory": PRICING_CATEGORIES,
               "CommitmentDiscountCategory": COMMITMENT_DISCOUNT_CATEGORIES,
               "CommitmentDiscountStatus": COMMITMENT_DISCOUNT_STATUSES,
               "CapacityReservationStatus": CAPACITY_RESERVATION_STATUSES,
               "ServiceCategory": SERVICE_CATEGORIES, "ServiceSubcategory": ALL_SERVICE_SUBCATEGORIES}
    for col, values in allowed.items():
        if col != "ChargeCategory":  # appended above, kept first for its rule name in quarantine reasons
            out.append(e.ExpectColumnValuesToBeInSet(column=col, value_set=list(values)))
    # ServiceSubcategory MUST have one and only one parent ServiceCategory (the spec's table).
    out.append(e.ExpectColumnPairValuesToBeInSet(
        column_A="ServiceCategory", column_B="ServiceSubcategory",
        value_pairs_set=[(c, sub) for c, subs in SERVICE_SUBCATEGORIES.items() for sub in subs]))
    # ChargeFrequency MUST NOT be "Usage-Based" when ChargeCategory is "Purchase".
    out.append(e.ExpectColumnPairValuesToBeInSet(
        column_A="ChargeCategory", column_B="ChargeFrequency",
        value_pairs_set=[(c, f) for c in CHARGE_CATEGORIES for f in CHARGE_FREQUENCIES
                         if not (c == "Purchase" and f == "Usage-Based")]))
    # Tags, SkuPriceDetails: a JSON object of key-value pairs (null allowed).
    for col in JSON_COLUMNS:
        out.append(e.ExpectColumnValuesToBeJsonParseable(column=col))
        out.append(e.ExpectColumnValuesToMatchRegex(column=col, regex=r"^\{.*\}$"))
    # ConsumedQuantity: a non-negative (finite) decimal when present.
    out.append(e.ExpectColumnValuesToBeBetween(column="ConsumedQuantity", min_value=0, max_value=FINITE_MAX))
    # Our natural key (x_Source, ChargePeriodStart, x_RowKey): unique, so the load is idempotent.
    out.append(e.ExpectCompoundColumnsToBeUnique(column_list=list(KEY_COLUMNS)))
    return out


def _check_custom_columns(frame: pd.DataFrame) -> None:
    unprefixed = [c for c in frame.columns if c not in FOCUS_COLUMNS and not c.startswith("x_")]
    if unprefixed:
        raise FocusSchemaError(f"columns {unprefixed} are neither FOCUS 1.2 columns nor x_-prefixed extras")
    missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
    if missing:
        raise FocusSchemaError(f"missing FOCUS columns {missing}: normalize with include.costs.focus.normalize")


def validate(frame: pd.DataFrame) -> ValidationOutcome:
    """Run the FOCUS expectations; split ``frame`` into valid rows and quarantined rows with reasons."""
    _check_custom_columns(frame)
    frame = frame.reset_index(drop=True)
    if frame.empty:
        return ValidationOutcome(frame, frame.assign(reason=pd.Series(dtype=object)), [])

    import great_expectations as gx

    from include.platform.gx import validate_frame

    result = validate_frame(frame, gx.ExpectationSuite(name="focus_1_2", expectations=expectations()),
                            source="focus_costs", asset="normalized", result_format="COMPLETE")

    reasons: dict[int, list[str]] = {}
    summaries = []
    for r in result.results:
        cfg = r.expectation_config
        target = cfg.kwargs.get("column") or cfg.kwargs.get("column_list") or (
            f"{cfg.kwargs.get('column_A')}>{cfg.kwargs.get('column_B')}" if cfg.kwargs.get("column_A") else "table")
        bad = (r.result or {}).get("unexpected_index_list") or []
        summaries.append({"expectation": cfg.type, "target": str(target), "success": bool(r.success),
                          "unexpected": len(bad)})
        if r.success:
            continue
        if not bad:  # a table-level rule failed: the whole frame is unusable
            raise FocusSchemaError(f"FOCUS validation failed: {cfg.type} on {target}")
        for idx in bad:
            idx = idx if isinstance(idx, int) else int(idx.get("index", idx)) if isinstance(idx, dict) else int(idx)
            reasons.setdefault(idx, []).append(f"{cfg.type}({target})")
    bad_idx = sorted(reasons)
    quarantined = frame.loc[bad_idx].assign(reason=["; ".join(reasons[i]) for i in bad_idx])
    valid = frame.drop(index=bad_idx).reset_index(drop=True)
    if bad_idx:
        log.warning("FOCUS validation quarantined %d of %d rows, e.g. %s", len(bad_idx), len(frame),
                    quarantined["reason"].iloc[0])
    return ValidationOutcome(valid, quarantined.reset_index(drop=True), summaries)


__all__ = ["EXTRA_COLUMNS", "FocusSchemaError", "ValidationOutcome", "expectations", "validate"]
