"""Tests for sandbox.ground_truth on small hand-built worlds (and on a generated one when available)."""

from __future__ import annotations

import importlib
import io
import math
import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pandas as pd
import pytest

from sandbox.ground_truth import (
    KPI_COLUMNS,
    LEAK_EVENT_COLUMNS,
    compute_kpis,
    compute_leak_events,
    write_ground_truth,
)

AU = "lumen-au"
US = "lumen-us"
JAN = date(2024, 1, 1)
FEB = date(2024, 2, 1)
MAR = date(2024, 3, 1)
TOTAL_METRICS = [
    "orders_paid",
    "net_revenue",
    "gross_profit",
    "refund_cost",
    "preventable_refund_cost",
    "refund_cost_pct_of_profit",
    "preventable_share",
    "cause_coverage",
    "tagged_share",
]

STORES_CSV = """store_id,brand,market,shop_domain,currency,timezone,order_cutoff_local,business_days
lumen-au,lumen,AU,lumen-au.myshopify.com,AUD,Australia/Sydney,14:00,Mon-Fri
lumen-us,lumen,US,lumen-us.myshopify.com,USD,America/New_York,14:00,Mon-Fri
"""
SKU_CATALOG_CSV = """sku,product_title,supplier_id,unit_cogs,cogs_currency
SKU-USD,Lamp,1,3.33,USD
SKU-AUD,Shade,2,0.10,AUD
"""
REFUND_CAUSES_CSV = """code,label,owner,preventable_default
unknown,Unknown,support,false
supplier_defect,Supplier defect,supplier,true
changed_mind,Changed mind,customer,false
lost_in_transit,Lost in transit,carrier,true
"""
# AUD: no rate between 2024-02-01 and 2024-02-10, so 2024-02-05 must use the 2024-02-01 rate.
FX_RATES_CSV = """date,currency,rate_to_usd
2024-01-01,AUD,0.65
2024-01-31,AUD,0.65
2024-02-01,AUD,0.70
2024-02-10,AUD,0.80
2024-01-01,USD,1
"""


ORDER_COLUMNS = [
    "order_id",
    "store_id",
    "order_number",
    "name",
    "customer_id",
    "email",
    "created_at",
    "processed_at",
    "updated_at",
    "currency",
    "shipping_price_cents",
    "tags",
    "note",
    "cancelled_at",
    "cancel_reason",
    "test",
]
LINE_COLUMNS = ["line_item_id", "order_id", "sku", "title", "quantity", "unit_price_cents", "discount_cents"]
TRANSACTION_COLUMNS = [
    "transaction_id",
    "order_id",
    "refund_id",
    "kind",
    "status",
    "gateway",
    "amount_cents",
    "currency",
    "created_at",
    "processed_at",
    "parent_transaction_id",
    "payment_id",
    "error_code",
]
REFUND_COLUMNS = [
    "refund_id",
    "order_id",
    "created_at",
    "updated_at",
    "note",
    "true_cause",
    "true_preventable",
    "note_cause",
    "tag_cause",
    "preventable_token",
]


def ts(text: str) -> pd.Timestamp:
    """A UTC timestamp."""
    return pd.Timestamp(text, tz="UTC")


@dataclass
class Scenario:
    """A tiny world built row by row; `world()` returns the SimpleNamespace the module accepts."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    as_of: str = "2024-06-01T00:00:00Z"
    _next_id: int = 1000

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def paid_order(
        self,
        order_id: int,
        store_id: str,
        paid_at: str,
        lines: list[tuple[str, int, int, int]] = (),
        shipping_cents: int = 0,
        tags: list[str] = (),
        test: bool = False,
    ) -> None:
        """An order created and paid (one successful SALE) at `paid_at`; lines = (sku, qty, price, discount)."""
        currency = "AUD" if store_id == AU else "USD"
        self.order(order_id, store_id, paid_at, shipping_cents, tags, test)
        for sku, qty, price, discount in lines:
            self.line(order_id, sku, qty, price, discount)
        total = sum(q * p - d for _, q, p, d in lines) + shipping_cents
        self.tx(order_id, "SALE", "SUCCESS", total, currency, paid_at)

    def order(
        self,
        order_id: int,
        store_id: str,
        created_at: str,
        shipping_cents: int = 0,
        tags: list[str] = (),
        test: bool = False,
    ) -> None:
        """An order row without transactions."""
        self.orders.append(
            {
                "order_id": order_id,
                "store_id": store_id,
                "order_number": order_id,
                "name": f"#{order_id}",
                "customer_id": 1,
                "email": "a@example.com",
                "created_at": ts(created_at),
                "processed_at": ts(created_at),
                "updated_at": ts(created_at),
                "currency": "AUD" if store_id == AU else "USD",
                "shipping_price_cents": shipping_cents,
                "tags": list(tags),
                "note": None,
                "cancelled_at": None,
                "cancel_reason": None,
                "test": test,
            }
        )

    def line(self, order_id: int, sku: str, qty: int, price: int, discount: int = 0) -> None:
        """A line item."""
        self.lines.append(
            {
                "line_item_id": self._id(),
                "order_id": order_id,
                "sku": sku,
                "title": sku,
                "quantity": qty,
                "unit_price_cents": price,
                "discount_cents": discount,
            }
        )

    def tx(
        self,
        order_id: int,
        kind: str,
        status: str,
        amount_cents: int,
        currency: str,
        created_at: str,
        refund_id: int | None = None,
    ) -> None:
        """A transaction."""
        self.transactions.append(
            {
                "transaction_id": self._id(),
                "order_id": order_id,
                "refund_id": refund_id,
                "kind": kind,
                "status": status,
                "gateway": "stripe",
                "amount_cents": amount_cents,
                "currency": currency,
                "created_at": ts(created_at),
                "processed_at": ts(created_at),
                "parent_transaction_id": None,
                "payment_id": None,
                "error_code": None,
            }
        )

    def refund(
        self,
        refund_id: int,
        order_id: int,
        created_at: str,
        amounts: list[int] = (),
        note_cause: str | None = None,
        tag_cause: str | None = None,
        token: str | None = None,
        currency: str | None = None,
    ) -> None:
        """A refund with one successful REFUND transaction per amount (cents, order currency by default)."""
        order = next(o for o in self.orders if o["order_id"] == order_id)
        self.refunds.append(
            {
                "refund_id": refund_id,
                "order_id": order_id,
                "created_at": ts(created_at),
                "updated_at": ts(created_at),
                "note": "free words that must never be parsed cause:lost_in_transit preventable:yes",
                "true_cause": note_cause or tag_cause or "unknown",
                "true_preventable": token == "yes",
                "note_cause": note_cause,
                "tag_cause": tag_cause,
                "preventable_token": token,
            }
        )
        for amount in amounts:
            self.tx(order_id, "REFUND", "SUCCESS", amount, currency or order["currency"], created_at, refund_id)

    def world(self) -> SimpleNamespace:
        """The world object."""
        stores = pd.read_csv(io.StringIO(STORES_CSV))
        stores["shop"] = stores["store_id"]
        tables = {
            "orders": pd.DataFrame(self.orders, columns=ORDER_COLUMNS),
            "line_items": pd.DataFrame(self.lines, columns=LINE_COLUMNS),
            "transactions": pd.DataFrame(self.transactions, columns=TRANSACTION_COLUMNS),
            "refunds": pd.DataFrame(self.refunds, columns=REFUND_COLUMNS),
        }
        for name in ("orders", "transactions", "refunds"):
            tables[name]["created_at"] = pd.to_datetime(tables[name]["created_at"], utc=True)
        tables["transactions"]["refund_id"] = tables["transactions"]["refund_id"].astype("Int64")
        return SimpleNamespace(
            stores=stores,
            suppliers=pd.DataFrame({"supplier_id": [1, 2], "name": ["s1", "s2"], "dispatch_sla_business_days": 2}),
            skus=pd.DataFrame(),
            customers=pd.DataFrame(),
            meta={"preset": "hand", "seed": 0, "as_of": self.as_of, "reporting_currency": "USD"},
            **tables,
        )


@pytest.fixture
def sheets_dir(tmp_path: Path) -> Path:
    """The ops sheets as CSV files."""
    directory = tmp_path / "sheets"
    directory.mkdir()
    (directory / "stores.csv").write_text(STORES_CSV)
    (directory / "sku_catalog.csv").write_text(SKU_CATALOG_CSV)
    (directory / "refund_causes.csv").write_text(REFUND_CAUSES_CSV)
    (directory / "fx_rates.csv").write_text(FX_RATES_CSV)
    return directory


def events_by_id(scenario: Scenario, sheets_dir: Path) -> dict[int, dict[str, Any]]:
    """Leak events keyed by refund_id."""
    frame = compute_leak_events(scenario.world(), sheets_dir)
    return {row["refund_id"]: row for row in frame.to_dict("records")}


def kpi(frame: pd.DataFrame, metric: str, store_id: str | None, period: date, cause: str | None = None) -> Any:
    """The single value of one kpis row (fails if there is not exactly one)."""
    store_mask = frame["store_id"].isna() if store_id is None else frame["store_id"] == store_id
    dim_mask = frame["dimension"].isna() if cause is None else frame["dimension_value"] == cause
    rows = frame[(frame["metric"] == metric) & store_mask & (frame["period_start"] == period) & dim_mask]
    assert len(rows) == 1, (metric, store_id, period, cause, rows)
    return rows["value"].iloc[0]


# ------------------------------------------------------------------------------------------------- cause


def test_note_cause_beats_order_tag(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-12T12:00Z", [1000], note_cause="supplier_defect", tag_cause="changed_mind")
    event = events_by_id(s, sheets_dir)[11]
    assert (event["cause"], event["cause_source"]) == ("supplier_defect", "tagged")


def test_order_tag_used_when_order_has_one_refund(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-12T12:00Z", [1000], tag_cause="changed_mind")
    event = events_by_id(s, sheets_dir)[11]
    assert (event["cause"], event["cause_source"]) == ("changed_mind", "tagged")


def test_order_tag_ignored_when_order_has_two_refunds(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-12T12:00Z", [1000], tag_cause="changed_mind")
    s.refund(12, 1, "2024-01-13T12:00Z", [1000], note_cause="lost_in_transit", tag_cause="changed_mind")
    events = events_by_id(s, sheets_dir)
    assert (events[11]["cause"], events[11]["cause_source"]) == ("unknown", "unknown")
    assert (events[12]["cause"], events[12]["cause_source"]) == ("lost_in_transit", "tagged")


def test_unknown_note_code_falls_through(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.paid_order(2, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.paid_order(3, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-12T12:00Z", [100], note_cause="no_such_code", tag_cause="changed_mind")
    s.refund(21, 2, "2024-01-12T12:00Z", [100], note_cause="no_such_code")
    s.refund(31, 3, "2024-01-12T12:00Z", [100], note_cause="unknown", tag_cause="not_a_code_either")
    events = events_by_id(s, sheets_dir)
    assert (events[11]["cause"], events[11]["cause_source"]) == ("changed_mind", "tagged")
    assert (events[21]["cause"], events[21]["cause_source"]) == ("unknown", "unknown")
    assert (events[31]["cause"], events[31]["cause_source"]) == ("unknown", "unknown")


# ------------------------------------------------------------------------------------------------- preventable


def test_preventable_token_then_order_tag_then_default(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.paid_order(2, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)], tags=["vip", "preventable:yes"])
    s.paid_order(3, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)], tags=["preventable:yes"])
    s.paid_order(4, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)], tags=["preventable:no"])
    s.paid_order(5, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-12T12:00Z", [100], note_cause="supplier_defect", token="no")
    s.refund(21, 2, "2024-01-12T12:00Z", [100], note_cause="changed_mind")
    s.refund(31, 3, "2024-01-12T12:00Z", [100], note_cause="changed_mind", token="no")
    s.refund(41, 4, "2024-01-12T12:00Z", [100], note_cause="supplier_defect")
    s.refund(51, 5, "2024-01-12T12:00Z", [100], note_cause="supplier_defect")
    events = events_by_id(s, sheets_dir)
    assert events[11]["preventable"] is False  # token beats default true
    assert events[21]["preventable"] is True  # order tag beats default false
    assert events[31]["preventable"] is False  # token beats order tag
    assert events[41]["preventable"] is False  # order tag beats default true
    assert events[51]["preventable"] is True  # default of supplier_defect


def test_preventable_share_uses_resolved_flag(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 10000, 0)])
    s.paid_order(2, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 10000, 0)])
    s.refund(11, 1, "2024-01-12T12:00Z", [3000], note_cause="supplier_defect", token="no")
    s.refund(21, 2, "2024-01-12T12:00Z", [1000], note_cause="changed_mind", token="yes")
    kpis = compute_kpis(s.world(), sheets_dir)
    assert kpi(kpis, "preventable_refund_cost", US, JAN) == pytest.approx(10.00)
    assert kpi(kpis, "preventable_share", US, JAN) == pytest.approx(0.25)


# ------------------------------------------------------------------------------------------------- money


def test_fx_falls_back_to_latest_earlier_rate(sheets_dir: Path) -> None:
    s = Scenario()
    # 2024-02-05 local has no AUD rate: the 2024-02-01 rate (0.70) applies, not the later 0.80.
    s.paid_order(1, AU, "2024-02-05T02:00Z", [("SKU-AUD", 1, 10000, 0)])
    s.refund(11, 1, "2024-02-05T03:00Z", [1000])
    kpis = compute_kpis(s.world(), sheets_dir)
    assert kpi(kpis, "net_revenue", AU, FEB) == pytest.approx(70.00)
    assert events_by_id(s, sheets_dir)[11]["refund_cost_usd"] == Decimal("7.00")


def test_fx_with_no_earlier_rate_is_an_error(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, AU, "2023-12-01T02:00Z", [("SKU-AUD", 1, 10000, 0)])
    with pytest.raises(ValueError, match="no rate for AUD"):
        compute_kpis(s.world(), sheets_dir)


def test_local_month_across_midnight_utc_in_sydney(sheets_dir: Path) -> None:
    s = Scenario()
    # 2024-01-31 14:30 UTC is 2024-02-01 01:30 in Sydney (AEDT, UTC+11): February, at the February rate.
    s.paid_order(1, AU, "2024-01-31T14:30Z", [("SKU-AUD", 1, 10000, 0)])
    # 2024-02-29 13:30 UTC is 2024-03-01 00:30 in Sydney: a March refund.
    s.refund(11, 1, "2024-02-29T13:30Z", [1000], note_cause="changed_mind")
    # 2024-02-01 03:00 UTC is still 2024-01-31 in New York: January.
    s.paid_order(2, US, "2024-02-01T03:00Z", [("SKU-USD", 1, 10000, 0)])
    kpis = compute_kpis(s.world(), sheets_dir)
    event = events_by_id(s, sheets_dir)[11]
    assert (event["local_date"], event["period_start"]) == (date(2024, 3, 1), MAR)
    assert kpi(kpis, "orders_paid", AU, FEB) == 1.0
    assert kpi(kpis, "net_revenue", AU, FEB) == pytest.approx(70.00)
    assert kpi(kpis, "refund_cost", AU, MAR) == pytest.approx(8.00)
    assert kpi(kpis, "orders_paid", US, JAN) == 1.0
    assert not ((kpis["store_id"] == AU) & (kpis["period_start"] == JAN)).any()
    assert not ((kpis["store_id"] == US) & (kpis["period_start"] == FEB)).any()


def test_half_up_rounding_at_line_grain_not_on_the_sum(sheets_dir: Path) -> None:
    s = Scenario()
    # Each AUD 10.10 line is 656.5 USD cents at 0.65 -> 657 (half up); rounding the sum would give 1313,
    # banker's rounding would give 656 per line. COGS 0.10 AUD -> 6.5 cents -> 7 per line.
    lines = [("SKU-AUD", 1, 1010, 0), ("SKU-AUD", 1, 1010, 0)]
    s.paid_order(1, AU, "2024-01-10T02:00Z", lines, shipping_cents=1010)
    s.refund(11, 1, "2024-01-11T02:00Z", [1010, 1010], note_cause="changed_mind")
    kpis = compute_kpis(s.world(), sheets_dir)
    assert kpi(kpis, "net_revenue", AU, JAN) == pytest.approx(13.14, abs=1e-9)
    assert kpi(kpis, "gross_profit", AU, JAN) == pytest.approx(13.14 + 6.57 - 0.14, abs=1e-9)
    event = events_by_id(s, sheets_dir)[11]
    assert event["refund_cost_usd"] == Decimal("13.14")
    assert event["cash_refunded"] == Decimal("20.20")
    assert event["currency"] == "AUD"


def test_cogs_uses_catalog_currency_and_quantity(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 3, 2000, 500), ("SKU-AUD", 2, 1000, 0)])
    kpis = compute_kpis(s.world(), sheets_dir)
    # revenue 60.00 - 5.00 + 20.00; COGS 3 x 3.33 USD + 2 x 0.10 AUD x 0.65 = 9.99 + 0.13
    assert kpi(kpis, "net_revenue", US, JAN) == pytest.approx(75.00)
    assert kpi(kpis, "gross_profit", US, JAN) == pytest.approx(75.00 - 9.99 - 0.13)


def test_sku_without_catalog_cogs_counts_zero_cogs(sheets_dir: Path) -> None:
    # The `unmapped_sku` defect blanks unit_cogs in sku_catalog.csv; an SKU missing from the sheet is the same.
    catalog = sheets_dir / "sku_catalog.csv"
    catalog.write_text(catalog.read_text() + "SKU-BLANK,Blank,,,\n")
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-BLANK", 2, 1000, 0), ("SKU-MISSING", 1, 500, 0)])
    kpis = compute_kpis(s.world(), sheets_dir)
    assert kpi(kpis, "gross_profit", US, JAN) == pytest.approx(25.00)


def test_paid_at_first_successful_sale_or_capture(sheets_dir: Path) -> None:
    s = Scenario()
    # Failed sale in January, authorization in January, capture in February -> paid in February.
    s.order(1, US, "2024-01-30T12:00Z")
    s.line(1, "SKU-USD", 1, 1000)
    s.tx(1, "SALE", "FAILURE", 1000, "USD", "2024-01-30T12:00Z")
    s.tx(1, "AUTHORIZATION", "SUCCESS", 1000, "USD", "2024-01-30T12:05Z")
    s.tx(1, "CAPTURE", "SUCCESS", 1000, "USD", "2024-02-02T12:00Z")
    # Only authorized: never paid. A test order: out even though paid.
    s.order(2, US, "2024-01-30T12:00Z")
    s.line(2, "SKU-USD", 1, 1000)
    s.tx(2, "AUTHORIZATION", "SUCCESS", 1000, "USD", "2024-01-30T12:05Z")
    s.paid_order(3, US, "2024-01-30T12:00Z", [("SKU-USD", 1, 1000, 0)], test=True)
    s.refund(31, 3, "2024-01-31T12:00Z", [1000], note_cause="changed_mind")
    # Two successful captures, the later one written first: paid at the earlier (March), not the later (April).
    s.order(4, US, "2024-03-10T12:00Z")
    s.line(4, "SKU-USD", 1, 2000)
    s.tx(4, "CAPTURE", "SUCCESS", 1000, "USD", "2024-04-02T12:00Z")
    s.tx(4, "CAPTURE", "SUCCESS", 1000, "USD", "2024-03-20T12:00Z")
    kpis = compute_kpis(s.world(), sheets_dir)
    assert set(kpis["period_start"]) == {FEB, MAR}
    assert kpi(kpis, "orders_paid", US, FEB) == 1.0
    assert kpi(kpis, "net_revenue", US, FEB) == pytest.approx(10.00)
    assert kpi(kpis, "net_revenue", US, MAR) == pytest.approx(20.00)
    assert compute_leak_events(s.world(), sheets_dir).empty


def test_refund_cost_counts_only_successful_refund_transactions(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-12T12:00Z", [1200], note_cause="changed_mind")
    s.tx(1, "REFUND", "FAILURE", 999, "USD", "2024-01-12T12:00Z", refund_id=11)
    s.refund(12, 1, "2024-01-13T12:00Z", [])  # a refund with no money moved
    events = events_by_id(s, sheets_dir)
    assert events[11]["refund_cost_usd"] == Decimal("12.00")
    assert events[12]["refund_cost_usd"] == Decimal("0.00")
    assert events[12]["currency"] == "USD"


def test_rows_after_the_clock_do_not_exist(sheets_dir: Path) -> None:
    s = Scenario(as_of="2024-01-20T00:00:00Z")
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.paid_order(2, US, "2024-01-25T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-25T12:00Z", [1200])
    kpis = compute_kpis(s.world(), sheets_dir)
    assert kpi(kpis, "orders_paid", US, JAN) == 1.0
    assert kpi(kpis, "refund_cost", US, JAN) == 0.0


# ------------------------------------------------------------------------------------------------- kpis


def test_zero_denominators_are_null_not_nan(sheets_dir: Path, tmp_path: Path) -> None:
    s = Scenario()
    s.paid_order(1, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])  # January: orders, no refunds
    s.refund(11, 1, "2024-02-10T12:00Z", [1000], note_cause="changed_mind")  # February: refund, no orders
    kpis = compute_kpis(s.world(), sheets_dir)
    for metric in ("preventable_share", "cause_coverage", "tagged_share"):
        assert kpi(kpis, metric, US, JAN) is None
    assert kpi(kpis, "refund_cost", US, JAN) == 0.0
    assert kpi(kpis, "preventable_refund_cost", US, JAN) == 0.0
    assert kpi(kpis, "refund_cost_pct_of_profit", US, FEB) is None
    assert kpi(kpis, "refund_cost_pct_of_profit", US, FEB, cause="changed_mind") is None
    assert kpi(kpis, "orders_paid", US, FEB) == 0.0
    assert not any(isinstance(v, float) and math.isnan(v) for v in kpis["value"])

    out = tmp_path / "gt.duckdb"
    write_ground_truth(s.world(), sheets_dir, out)
    with duckdb.connect(str(out), read_only=True) as con:
        nulls = con.execute("select count(*) from kpis where value is null").fetchone()[0]
        nans = con.execute("select count(*) from kpis where isnan(value)").fetchone()[0]
    assert (nulls, nans) == (kpis["value"].isna().sum(), 0)
    assert nulls == 3 * 2 + 2 * 2  # Jan shares (store, portfolio); Feb total and cause % (store, portfolio)


def test_portfolio_rows_are_store_sums(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, AU, "2024-01-10T02:00Z", [("SKU-AUD", 2, 3333, 100)], shipping_cents=995)
    s.paid_order(2, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 10000, 0)], shipping_cents=500)
    s.paid_order(3, US, "2024-01-11T12:00Z", [("SKU-USD", 4, 1999, 0)])
    s.refund(11, 1, "2024-01-12T02:00Z", [2000], note_cause="supplier_defect")
    s.refund(21, 2, "2024-01-12T12:00Z", [500], note_cause="supplier_defect", token="no")
    s.refund(31, 3, "2024-01-12T12:00Z", [700])
    kpis = compute_kpis(s.world(), sheets_dir)
    for metric in ("orders_paid", "net_revenue", "gross_profit", "refund_cost", "preventable_refund_cost"):
        stores = kpi(kpis, metric, AU, JAN) + kpi(kpis, metric, US, JAN)
        assert kpi(kpis, metric, None, JAN) == pytest.approx(stores, abs=1e-9), metric
    stores_cause = kpi(kpis, "refund_cost", AU, JAN, "supplier_defect") + kpi(
        kpis, "refund_cost", US, JAN, "supplier_defect"
    )
    assert kpi(kpis, "refund_cost", None, JAN, "supplier_defect") == pytest.approx(stores_cause)
    portfolio_rate = kpi(kpis, "refund_cost_pct_of_profit", None, JAN)
    expected_rate = kpi(kpis, "refund_cost", None, JAN) / kpi(kpis, "gross_profit", None, JAN)
    mean_of_store_rates = (
        kpi(kpis, "refund_cost_pct_of_profit", AU, JAN) + kpi(kpis, "refund_cost_pct_of_profit", US, JAN)
    ) / 2
    assert portfolio_rate == pytest.approx(expected_rate)
    assert portfolio_rate != pytest.approx(mean_of_store_rates)
    assert kpi(kpis, "cause_coverage", None, JAN) == pytest.approx((13.00 + 5.00) / (13.00 + 5.00 + 7.00))


def test_exact_row_set(sheets_dir: Path) -> None:
    s = Scenario()
    s.paid_order(1, AU, "2024-01-10T02:00Z", [("SKU-AUD", 1, 5000, 0)])
    s.paid_order(2, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 5000, 0)])
    s.paid_order(3, AU, "2024-01-11T02:00Z", [("SKU-AUD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-12T02:00Z", [1000], note_cause="supplier_defect")
    s.refund(31, 3, "2024-02-12T02:00Z", [1000])  # February: refund only, cause unknown
    kpis = compute_kpis(s.world(), sheets_dir)
    assert list(kpis.columns) == KPI_COLUMNS
    assert set(kpis["grain"]) == {"month"}
    expected = {
        (metric, store, period, None, None)
        for store, period in [(AU, JAN), (AU, FEB), (US, JAN), (None, JAN), (None, FEB)]
        for metric in TOTAL_METRICS
    } | {
        (metric, store, period, "cause", cause)
        for store, period, cause in [
            (AU, JAN, "supplier_defect"),
            (AU, FEB, "unknown"),
            (None, JAN, "supplier_defect"),
            (None, FEB, "unknown"),
        ]
        for metric in ("refund_cost", "refund_cost_pct_of_profit")
    }
    keys = [
        (r.metric, r.store_id, r.period_start, r.dimension, r.dimension_value) for r in kpis.itertuples(index=False)
    ]
    assert len(keys) == len(set(keys))
    assert set(keys) == expected
    assert all(isinstance(v, float) or v is None for v in kpis["value"])
    assert all(type(p) is date for p in kpis["period_start"])


def test_same_input_gives_identical_output(sheets_dir: Path, tmp_path: Path) -> None:
    s = Scenario()
    s.paid_order(1, AU, "2024-01-10T02:00Z", [("SKU-AUD", 3, 1234, 17)], shipping_cents=995)
    s.paid_order(2, US, "2024-01-10T12:00Z", [("SKU-USD", 1, 10000, 0)])
    s.refund(11, 1, "2024-01-12T02:00Z", [2000, 17], note_cause="supplier_defect")
    s.refund(21, 2, "2024-02-12T12:00Z", [500], tag_cause="changed_mind", token="yes")
    first_kpis = compute_kpis(s.world(), sheets_dir)
    first_events = compute_leak_events(s.world(), sheets_dir)
    pd.testing.assert_frame_equal(first_kpis, compute_kpis(s.world(), sheets_dir))
    pd.testing.assert_frame_equal(first_events, compute_leak_events(s.world(), sheets_dir))

    shuffled = s.world()
    rng = random.Random(7)
    for name in ("orders", "line_items", "transactions", "refunds"):
        frame = getattr(shuffled, name)
        order = list(range(len(frame)))
        rng.shuffle(order)
        setattr(shuffled, name, frame.iloc[order].reset_index(drop=True))
    pd.testing.assert_frame_equal(first_kpis, compute_kpis(shuffled, sheets_dir))
    pd.testing.assert_frame_equal(first_events, compute_leak_events(shuffled, sheets_dir))

    contents = []
    for name in ("a.duckdb", "b.duckdb"):
        write_ground_truth(s.world(), sheets_dir, tmp_path / name)
        with duckdb.connect(str(tmp_path / name), read_only=True) as con:
            contents.append(
                (
                    con.execute("select * from kpis").fetchall(),
                    con.execute("select * from leak_events").fetchall(),
                )
            )
    assert contents[0] == contents[1]


def test_write_ground_truth_schema_and_atomic_replace(sheets_dir: Path, tmp_path: Path) -> None:
    s = Scenario()
    s.paid_order(1, AU, "2024-01-10T02:00Z", [("SKU-AUD", 1, 5000, 0)])
    s.refund(11, 1, "2024-01-12T02:00Z", [1010], note_cause="lost_in_transit")
    out = tmp_path / "out" / "ground_truth.duckdb"
    out.parent.mkdir()
    out.write_text("an old, unreadable file that must be replaced")
    write_ground_truth(s.world(), sheets_dir, out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["ground_truth.duckdb"]
    with duckdb.connect(str(out), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' order by 1"
        ).fetchall()
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns where table_name = 'leak_events'"
            ).fetchall()
        )
        kpi_types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns where table_name = 'kpis'"
            ).fetchall()
        )
        event = con.execute("select refund_cost_usd, cash_refunded, cause from leak_events").fetchone()
    assert tables == [("kpis",), ("leak_events",)]
    assert list(types) == LEAK_EVENT_COLUMNS
    assert types["refund_cost_usd"] == "DECIMAL(18,2)"
    assert types["local_date"] == "DATE"
    assert list(kpi_types) == KPI_COLUMNS
    assert (kpi_types["value"], kpi_types["period_start"]) == ("DOUBLE", "DATE")
    assert event == (Decimal("6.57"), Decimal("10.10"), "lost_in_transit")


# ------------------------------------------------------------------------------------------------- generated world


def _generated_world(tmp_path: Path) -> tuple[Any, Path]:
    """A `tiny` generated world and its sheets, or skip when the generator is not available yet."""
    try:
        world_module = importlib.import_module("sandbox.world")
        generate_module = importlib.import_module("sandbox.world.generate")
        sheets_module = importlib.import_module("sandbox.world.sheets")
    except ImportError:
        pytest.skip("sandbox.world is not available yet")
    generate_world = getattr(world_module, "generate_world", None) or getattr(generate_module, "generate_world", None)
    if generate_world is None or not hasattr(world_module, "load_world") or not hasattr(sheets_module, "write_sheets"):
        pytest.skip("sandbox.world has no generate_world/load_world/write_sheets yet")
    world = world_module.load_world(generate_world("tiny", 7, tmp_path))
    return world, Path(sheets_module.write_sheets(world, tmp_path / "sheets"))


def test_generated_world_invariants(tmp_path: Path) -> None:
    world, sheets = _generated_world(tmp_path)
    events = compute_leak_events(world, sheets)
    kpis = compute_kpis(world, sheets)
    assert list(events.columns) == LEAK_EVENT_COLUMNS
    assert events["refund_id"].is_unique
    assert set(events["cause_source"]) <= {"tagged", "unknown"}
    store_rows = kpis[kpis["store_id"].notna()]
    portfolio_rows = kpis[kpis["store_id"].isna()]
    total_cost = store_rows[(store_rows["metric"] == "refund_cost") & store_rows["dimension"].isna()]["value"].sum()
    assert total_cost == pytest.approx(float(sum(events["refund_cost_usd"], Decimal(0))), abs=1e-6)
    for metric in ("orders_paid", "net_revenue", "gross_profit", "refund_cost"):
        by_store = store_rows[(store_rows["metric"] == metric) & store_rows["dimension"].isna()]
        by_period = portfolio_rows[(portfolio_rows["metric"] == metric) & portfolio_rows["dimension"].isna()]
        summed = by_store.groupby("period_start")["value"].sum()
        assert by_period.set_index("period_start")["value"].to_dict() == pytest.approx(summed.to_dict())
