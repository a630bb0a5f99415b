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

from expectations import frames, raw_schema

FRESHNESS_HOURS = 26
SAMPLE_ROWS = 5
VOLUME_WINDOW_DAYS = 7  # the days checked
VOLUME_BAND_DAYS = 28  # the trailing days the band is computed from
CAUSE_WINDOW_DAYS = 28
TRACKING_WITHIN_HOURS = 24
# Newest change per source besides Shopify (METRICS.md §12 "freshness per source"): (source, raw table, column).
# Stripe objects have no updated_at: a charge's `created` stands for it; Re:amaze conversations neither: their
# messages' `created_at` (every change of a conversation is a message or follows one).
SOURCE_FRESHNESS = (
    ("stripe", "charges", "created"),
    ("reamaze", "messages", "created_at"),
    ("aftership", "trackings", "updated_at"),
)
# The sources whose merged raw tables are checked for keys delivered twice
DEDUPLICATED_SOURCES = ("shopify", "stripe", "reamaze", "aftership")


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
    # The observed value in words (default: how many rows fail)
    observe: Callable[[pd.DataFrame], str] | None = None


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


def _null_expectation(column: str) -> Callable[[], list[Any]]:
    def expectations() -> list[Any]:
        import great_expectations as gx

        return [gx.expectations.ExpectColumnValuesToBeNull(column=column)]

    return expectations


def _true_expectation(column: str) -> Callable[[], list[Any]]:
    def expectations() -> list[Any]:
        import great_expectations as gx

        return [gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=[True])]

    return expectations


def _max_expectation(column: str, max_value: float) -> Callable[[], list[Any]]:
    def expectations() -> list[Any]:
        import great_expectations as gx

        return [gx.expectations.ExpectColumnValuesToBeBetween(column=column, max_value=max_value)]

    return expectations


def _source_freshness_check(source: str, table: str, column: str) -> Check:
    return Check(
        name=f"{source}_fresh",
        domain="freshness",
        severity="warn",
        table=f"raw_{source}.{table}",
        description=f"The newest {table} {column} loaded from {source} is within {FRESHNESS_HOURS} h of the run's "
                    "as-of time (skipped when the source is not configured).",
        frame=lambda warehouse, as_of: frames.source_freshness(warehouse, as_of, source, table, column),
        expectations=_freshness_expectations,
        key_column="source",
        observe=lambda frame: ", ".join(f"{row.source} {row.hours_since_update:.1f} h since {row.newest}"
                                        for row in frame.itertuples()) or "source not loaded",
    )


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
    Check(
        name="required_order_fields",
        domain="required_fields",
        severity="block",
        table="staging.stg_shopify__orders",
        description="Every order has an id, a store and a currency, every paid order its paid time, every line "
                    "item a SKU.",
        frame=lambda warehouse, as_of: frames.missing_required_fields(warehouse),
        expectations=_null_expectation("missing"),
        key_column="record",
    ),
    Check(
        name="refunds_map_to_orders",
        domain="referential",
        severity="block",
        table="staging.stg_shopify__refunds",
        description="Every refund maps to an order, and every refund line to a line item of the warehouse.",
        frame=lambda warehouse, as_of: frames.orphan_refunds(warehouse),
        expectations=_true_expectation("maps_to_order"),
        key_column="record",
    ),
    Check(
        name="daily_order_volume",
        domain="volume",
        severity="warn",
        table="staging.stg_shopify__orders",
        description=f"Each store has orders on each of the last {VOLUME_WINDOW_DAYS} local days, within the band "
                    f"(mean ± 3 sd, at least 1) of the {VOLUME_BAND_DAYS} days before.",
        frame=lambda warehouse, as_of: frames.daily_order_volume(warehouse, as_of, VOLUME_WINDOW_DAYS,
                                                                 VOLUME_BAND_DAYS),
        expectations=_true_expectation("within_band"),
        key_column="store_day",
    ),
    Check(
        name="refund_cause_coverage",
        domain="cause_coverage",
        severity="warn",
        table="marts.leak_events",
        description=f"Leak cost of the last {CAUSE_WINDOW_DAYS} days with a known cause reaches the kpi_targets "
                    "cause_coverage target (default 95 %) in every store.",
        frame=lambda warehouse, as_of: frames.refund_cause_coverage(warehouse, as_of, CAUSE_WINDOW_DAYS),
        expectations=_true_expectation("meets_target"),
        key_column="store_id",
        observe=lambda frame: ", ".join(
            f"{row.store_id} {row.cause_coverage:.1%}" for row in frame.itertuples() if pd.notna(row.cause_coverage)
        ) + (f" (target {frame['target'].iloc[0]:.0%})" if len(frame) else "no leak events in the window"),
    ),
    *(_source_freshness_check(*spec) for spec in SOURCE_FRESHNESS),
    Check(
        name="fulfillments_map_to_orders",
        domain="referential",
        severity="block",
        table="staging.stg_shopify__fulfillments",
        description="Every Shopify fulfillment maps to an order of the warehouse.",
        frame=lambda warehouse, as_of: frames.orphan_fulfillments(warehouse),
        expectations=_true_expectation("maps_to_order"),
        key_column="record",
    ),
    Check(
        name="charges_map_to_orders",
        domain="referential",
        severity="warn",
        table="intermediate.int_payments__charges_mapped",
        description="Every Stripe charge that names a Shopify order (metadata shopify_shop + shopify_order) maps "
                    "to that order of the warehouse (an orphan charge is an integration issue: warn).",
        frame=lambda warehouse, as_of: frames.orphan_charges(warehouse),
        expectations=_true_expectation("maps_to_order"),
        key_column="record",
    ),
    Check(
        name="fulfillments_tracked",
        domain="tracking_coverage",
        severity="warn",
        table="staging.stg_shopify__fulfillments",
        description=f"Every fulfillment older than {TRACKING_WITHIN_HOURS} h has a tracking number and an AfterShip "
                    f"tracking of that number created within {TRACKING_WITHIN_HOURS} h of the fulfillment.",
        frame=lambda warehouse, as_of: frames.fulfillment_tracking(warehouse, as_of, TRACKING_WITHIN_HOURS),
        expectations=_true_expectation("covered"),
        key_column="record",
    ),
    Check(
        name="raw_records_unique",
        domain="duplicates",
        severity="warn",
        table="raw_<source>_staging.*",
        description="No record reached the raw tables twice in the latest load (same primary key in dlt's load "
                    "staging, before the merge keeps one row per key): an API repeating records warns.",
        frame=lambda warehouse, as_of: frames.duplicate_keys(warehouse, DEDUPLICATED_SOURCES),
        expectations=_max_expectation("duplicate_rows", 0),
        key_column="table",
        observe=lambda frame: ", ".join(f"{row.table} {row.duplicate_rows} of {row.rows} rows repeat a key"
                                        for row in frame.itertuples() if row.duplicate_rows) or "no repeated keys",
    ),
    Check(
        name="raw_schema_unchanged",
        domain="schema",
        severity="block",
        table="raw_*",
        description="Every column a source declares is in its raw table with the declared type, and no field "
                    "arrived with another type (a dlt variant column `<field>__v_<type>`).",
        frame=lambda warehouse, as_of: raw_schema.breaking_changes(warehouse),
        expectations=_null_expectation("problem"),
        key_column="column",
        observe=lambda frame: "; ".join(f"{row.column} {row.problem}" for row in frame.itertuples()
                                        if pd.notna(row.problem)) or "declared columns as declared",
    ),
    Check(
        name="raw_schema_no_new_fields",
        domain="schema",
        severity="warn",
        table="raw_*",
        description="No raw table has a column its source neither declares nor knows from the API's model "
                    "(AfterShip records are loaded whole): a new API field warns.",
        frame=lambda warehouse, as_of: raw_schema.additive_changes(warehouse),
        expectations=_null_expectation("new_columns"),
        key_column="table",
        observe=lambda frame: "; ".join(f"{row.table}: {row.new_columns}" for row in frame.itertuples()
                                        if pd.notna(row.new_columns)) or "no undeclared fields",
    ),
)
