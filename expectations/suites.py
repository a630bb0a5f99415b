"""Data-completeness suites (METRICS.md §12) as Great Expectations 1.x suites over pandas frames.

GX's SQL datasource does not work on DuckDB with current SQLAlchemy, so every suite validates a frame that
`expectations.frames` reads from the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from expectations import frames

FRESHNESS_HOURS = 26
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Check:
    name: str
    domain: str
    severity: str  # "block" or "warn"
    table: str
    description: str
    frame: Callable[[Path, datetime], pd.DataFrame]
    expectations: Callable[[], list[Any]]
    key_column: str


@dataclass
class CheckOutcome:
    check: Check
    passed: bool
    observed: str
    expected: str
    failing_keys: list[str] = field(default_factory=list)

    def summary(self) -> str:
        state = "passed" if self.passed else "FAILED"
        text = f"{self.check.name} [{self.check.severity}] {state}: observed {self.observed}; expected {self.expected}"
        if self.failing_keys:
            text += f"; failing {self.check.key_column}: {', '.join(self.failing_keys[:SAMPLE_ROWS])}"
            if len(self.failing_keys) > SAMPLE_ROWS:
                text += f" (+{len(self.failing_keys) - SAMPLE_ROWS} more)"
        return text


def _sku_expectations() -> list[Any]:
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="supplier_id"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="unit_cogs"),
    ]


def _freshness_expectations() -> list[Any]:
    import great_expectations as gx

    return [gx.expectations.ExpectColumnValuesToBeBetween(column="hours_since_update", max_value=FRESHNESS_HOURS)]


def _fx_expectations() -> list[Any]:
    import great_expectations as gx

    return [gx.expectations.ExpectColumnValuesToBeInSet(column="is_fallback", value_set=[False])]


CHECKS: tuple[Check, ...] = (
    Check(
        name="sku_mapped_to_supplier_and_cogs",
        domain="required_fields",
        severity="block",
        table="staging.stg_shopify__order_lines",
        description="Every SKU sold has a supplier and a unit COGS in the sku_catalog sheet.",
        frame=lambda warehouse, as_of: frames.sold_sku_mapping(warehouse),
        expectations=_sku_expectations,
        key_column="sku",
    ),
    Check(
        name="orders_fresh",
        domain="freshness",
        severity="block",
        table="raw_shopify.orders",
        description=f"Every store's newest order update is within {FRESHNESS_HOURS} h of the run's as-of time.",
        frame=frames.store_freshness,
        expectations=_freshness_expectations,
        key_column="store_id",
    ),
    Check(
        name="fx_rate_for_every_currency_day",
        domain="required_fields",
        severity="warn",
        table="raw_sheets.fx_rates",
        description="Every currency-day an amount was converted on has its own rate in the fx_rates sheet "
                    "(otherwise the latest earlier rate is used, and this warns).",
        frame=lambda warehouse, as_of: frames.currency_days_used(warehouse),
        expectations=_fx_expectations,
        key_column="currency_day",
    ),
)
