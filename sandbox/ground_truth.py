"""Ground truth for the foundation slice: leak events and the `kpis` rows, computed from the simulated world.

This module is deliberately independent of the dbt models. It reads the world's structured truth (the
`refunds.note_cause` / `tag_cause` / `preventable_token` columns, never the note text) and the ops sheets
(`sku_catalog.csv`, `refund_causes.csv`, `fx_rates.csv`) and applies METRICS.md together with the
"Metric rules" section of `sandbox/WORLD.md`:

- money is converted to the reporting currency with the FX rate of the event's local date (latest earlier rate
  when that date is missing) and rounded to cents, half away from zero, at the source grain (order line for
  revenue and COGS, order for shipping, refund transaction for cash refunded), then summed;
- orders metrics are bucketed by the local month of `paid_at`, refund metrics by the refund's local month;
- rates with a zero denominator are `None` (SQL NULL).

All money is carried as integer cents internally; Decimal arithmetic is used for every conversion.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

UNKNOWN_CAUSE = "unknown"
PAID_KINDS = frozenset({"SALE", "CAPTURE"})
SUCCESS = "SUCCESS"
REFUND_KIND = "REFUND"
PREVENTABLE_TAG_PREFIX = "preventable:"

KPI_COLUMNS = ["metric", "store_id", "period_start", "grain", "dimension", "dimension_value", "value"]
LEAK_EVENT_COLUMNS = [
    "refund_id",
    "order_id",
    "store_id",
    "local_date",
    "period_start",
    "cause",
    "cause_source",
    "preventable",
    "true_cause",
    "true_preventable",
    "currency",
    "cash_refunded",
    "refund_cost_usd",
]
_CENT = Decimal("0.01")
_ONE = Decimal(1)


# --------------------------------------------------------------------------------------------------- sheets


class FxRates:
    """FX lookup from `fx_rates.csv`: the rate of a day, or the latest earlier one when the day is missing."""

    def __init__(self, rows: Iterable[tuple[str, date, Decimal]], reporting_currency: str) -> None:
        by_currency: dict[str, list[tuple[date, Decimal]]] = {}
        for currency, day, rate in rows:
            by_currency.setdefault(currency, []).append((day, rate))
        self._days: dict[str, list[date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for currency, pairs in by_currency.items():
            pairs.sort(key=lambda pair: pair[0])
            self._days[currency] = [day for day, _ in pairs]
            self._rates[currency] = [rate for _, rate in pairs]
        self.reporting_currency = reporting_currency
        self._factor_cache: dict[tuple[str, date], Decimal] = {}

    def rate_to_usd(self, currency: str, day: date) -> Decimal:
        """Rate of `currency` on `day`, falling back to the latest earlier date; raises if there is none."""
        days = self._days.get(currency)
        index = bisect.bisect_right(days, day) - 1 if days else -1
        if index < 0:
            raise ValueError(f"fx_rates.csv has no rate for {currency} on or before {day}; add one to the sheet")
        return self._rates[currency][index]

    def factor(self, currency: str, day: date) -> Decimal:
        """Multiplier from `currency` to the reporting currency on `day` (exactly 1 for the same currency)."""
        key = (currency, day)
        cached = self._factor_cache.get(key)
        if cached is not None:
            return cached
        if currency == self.reporting_currency:
            value = _ONE
        else:
            value = self.rate_to_usd(currency, day)
            if self.reporting_currency != "USD":
                value = value / self.rate_to_usd(self.reporting_currency, day)
        self._factor_cache[key] = value
        return value

    def to_reporting_cents(self, amount_cents: Decimal | int, currency: str, day: date) -> int:
        """Convert cents of `currency` and round to whole reporting cents, half away from zero."""
        converted = Decimal(amount_cents) * self.factor(currency, day)
        return int(converted.quantize(_ONE, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Sheets:
    """The ops sheets this slice needs, parsed."""

    unit_cogs: dict[str, tuple[Decimal, str]]  # sku -> (unit COGS in currency units, COGS currency)
    preventable_default: dict[str, bool]  # refund cause code -> preventable_default
    fx: FxRates


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a sheet with every cell as a stripped string ('' for empty)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.apply(lambda column: column.str.strip())


def _parse_bool(text: str, where: str) -> bool:
    """Parse a sheet boolean (`true`/`false`, case-insensitive)."""
    lowered = text.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    raise ValueError(f"{where}: expected true or false, got {text!r}")


def load_sheets(sheets_dir: Path, reporting_currency: str = "USD") -> Sheets:
    """Parse `sku_catalog.csv`, `refund_causes.csv` and `fx_rates.csv` from `sheets_dir`."""
    catalog = _read_csv(sheets_dir / "sku_catalog.csv")
    unit_cogs = {
        row.sku: (Decimal(row.unit_cogs), row.cogs_currency)
        for row in catalog.itertuples(index=False)
        if row.sku and row.unit_cogs and row.cogs_currency
    }
    causes = _read_csv(sheets_dir / "refund_causes.csv")
    preventable_default = {
        row.code: _parse_bool(row.preventable_default, f"refund_causes.csv code {row.code}")
        for row in causes.itertuples(index=False)
    }
    preventable_default.setdefault(UNKNOWN_CAUSE, False)
    fx_frame = _read_csv(sheets_dir / "fx_rates.csv")
    fx_rows = (
        (row.currency, date.fromisoformat(row.date), Decimal(row.rate_to_usd))
        for row in fx_frame.itertuples(index=False)
    )
    return Sheets(unit_cogs=unit_cogs, preventable_default=preventable_default, fx=FxRates(fx_rows, reporting_currency))


# --------------------------------------------------------------------------------------------------- helpers


def _reporting_currency(world: Any) -> str:
    """The reporting currency from `world.meta` (default USD)."""
    meta = getattr(world, "meta", None) or {}
    return str(meta.get("reporting_currency") or "USD")


def _as_of(world: Any) -> pd.Timestamp | None:
    """The world's clock (`meta.as_of`) as a UTC timestamp, or None when the world has no clock."""
    meta = getattr(world, "meta", None) or {}
    raw = meta.get("as_of")
    if not raw:
        return None
    stamp = pd.Timestamp(raw)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _utc(series: pd.Series) -> pd.Series:
    """A timestamp column as tz-aware UTC (naive values are taken as UTC)."""
    series = pd.to_datetime(series)
    if series.dt.tz is None:
        return series.dt.tz_localize("UTC")
    return series.dt.tz_convert("UTC")


def _visible(frame: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Rows that exist at the clock (`created_at <= as_of`), with `created_at` normalised to UTC."""
    frame = frame.copy()
    frame["created_at"] = _utc(frame["created_at"])
    if as_of is None:
        return frame
    return frame[frame["created_at"] <= as_of]


def _local_dates(stamps: pd.Series, store_ids: pd.Series, timezones: dict[str, str]) -> pd.Series:
    """The local calendar date of each UTC timestamp in its store's timezone."""
    result = pd.Series([None] * len(stamps), index=stamps.index, dtype=object)
    for store_id in sorted(store_ids.dropna().unique()):
        mask = store_ids == store_id
        local = stamps[mask].dt.tz_convert(timezones[store_id])
        result[mask] = [stamp.date() for stamp in local]
    return result


def _month_start(day: date) -> date:
    """First day of the month of `day`."""
    return day.replace(day=1)


def _is_missing(value: Any) -> bool:
    """True for None / NaN / NA scalars."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _tags(value: Any) -> list[str]:
    """Order tags as a list of stripped strings (accepts list/array, comma-separated text, or null)."""
    if isinstance(value, str):
        return [tag.strip() for tag in value.split(",") if tag.strip()]
    if value is None or not hasattr(value, "__iter__"):
        return []
    return [str(tag).strip() for tag in value if not _is_missing(tag)]


def _cents_to_decimal(cents: int) -> Decimal:
    """Integer cents as a two-place Decimal."""
    return (Decimal(cents) / 100).quantize(_CENT)


def _ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    return None if denominator == 0 else numerator / denominator


# --------------------------------------------------------------------------------------------------- orders


def _store_timezones(world: Any) -> dict[str, str]:
    """store_id -> IANA timezone."""
    return dict(zip(world.stores["store_id"], world.stores["timezone"], strict=True))


def _paid_at(world: Any, as_of: pd.Timestamp | None) -> pd.Series:
    """order_id -> created_at of the first successful SALE or CAPTURE transaction."""
    tx = _visible(world.transactions, as_of)
    paid = tx[tx["kind"].isin(PAID_KINDS) & (tx["status"] == SUCCESS)]
    paid = paid.sort_values(["order_id", "created_at", "transaction_id"])
    return paid.groupby("order_id")["created_at"].first()


def _included_orders(world: Any, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Non-test orders that exist at the clock."""
    orders = _visible(world.orders, as_of)
    return orders[~orders["test"].astype(bool)]


def paid_orders(world: Any, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Paid, non-test orders with `paid_at`, `paid_date` (local) and `period_start`."""
    orders = _included_orders(world, as_of)
    paid_at = _paid_at(world, as_of)
    orders = orders[orders["order_id"].isin(paid_at.index)].copy()
    orders["paid_at"] = orders["order_id"].map(paid_at)
    orders["paid_date"] = _local_dates(orders["paid_at"], orders["store_id"], _store_timezones(world))
    orders["period_start"] = [_month_start(day) for day in orders["paid_date"]]
    return orders


def _line_cents(lines: pd.DataFrame, sheets: Sheets) -> tuple[list[int], list[int]]:
    """Per line: (net revenue, COGS) in reporting cents, each converted and rounded at the line grain."""
    revenue: list[int] = []
    cogs: list[int] = []
    for sku, quantity, unit_price, discount, currency, day in zip(
        lines["sku"],
        lines["quantity"],
        lines["unit_price_cents"],
        lines["discount_cents"],
        lines["currency"],
        lines["paid_date"],
        strict=True,
    ):
        qty = int(quantity)
        net_cents = int(unit_price) * qty - (0 if _is_missing(discount) else int(discount))
        revenue.append(sheets.fx.to_reporting_cents(net_cents, currency, day))
        cost = sheets.unit_cogs.get(sku) if not _is_missing(sku) else None
        if cost is None:
            cogs.append(0)
        else:
            unit_cogs, cogs_currency = cost
            cogs.append(sheets.fx.to_reporting_cents(unit_cogs * 100 * qty, cogs_currency, day))
    return revenue, cogs


def order_amounts(world: Any, sheets: Sheets, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """One row per paid order: store_id, period_start, revenue / shipping / COGS in reporting cents."""
    orders = paid_orders(world, as_of)
    keys = orders[["order_id", "store_id", "currency", "paid_date"]]
    lines = world.line_items.merge(keys, on="order_id", how="inner")
    revenue, cogs = _line_cents(lines, sheets)
    per_order = (
        pd.DataFrame({"order_id": lines["order_id"].to_numpy(), "revenue_cents": revenue, "cogs_cents": cogs})
        .groupby("order_id")[["revenue_cents", "cogs_cents"]]
        .sum()
    )
    orders = orders.copy()
    orders["shipping_cents"] = [
        sheets.fx.to_reporting_cents(0 if _is_missing(amount) else int(amount), currency, day)
        for amount, currency, day in zip(
            orders["shipping_price_cents"], orders["currency"], orders["paid_date"], strict=True
        )
    ]
    orders["revenue_cents"] = orders["order_id"].map(per_order["revenue_cents"]).fillna(0).astype("int64")
    orders["cogs_cents"] = orders["order_id"].map(per_order["cogs_cents"]).fillna(0).astype("int64")
    return orders[["order_id", "store_id", "period_start", "revenue_cents", "shipping_cents", "cogs_cents"]]


# --------------------------------------------------------------------------------------------------- refunds


def _resolve_cause(note_cause: Any, tag_cause: Any, order_refunds: int, codes: set[str]) -> tuple[str, str]:
    """(cause, cause_source): note token beats order tag (only on single-refund orders); else unknown."""
    if not _is_missing(note_cause) and note_cause in codes:
        return str(note_cause), "tagged"
    if order_refunds == 1 and not _is_missing(tag_cause) and tag_cause in codes:
        return str(tag_cause), "tagged"
    return UNKNOWN_CAUSE, "unknown"


def _preventable_from_tags(tags: list[str]) -> bool | None:
    """The order tag `preventable:yes|no`, or None when absent or contradictory."""
    values = {
        tag.lower()[len(PREVENTABLE_TAG_PREFIX) :] for tag in tags if tag.lower().startswith(PREVENTABLE_TAG_PREFIX)
    }
    values &= {"yes", "no"}
    return (values == {"yes"}) if len(values) == 1 else None


def _resolve_preventable(token: Any, order_tags: list[str], cause: str, defaults: dict[str, bool]) -> bool:
    """Note token wins, then the order tag, then the cause's preventable_default."""
    if not _is_missing(token) and str(token).strip().lower() in {"yes", "no"}:
        return str(token).strip().lower() == "yes"
    from_tag = _preventable_from_tags(order_tags)
    if from_tag is not None:
        return from_tag
    return defaults.get(cause, defaults[UNKNOWN_CAUSE])


def _included_refunds(world: Any, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Refunds at the clock whose order is a non-test order at the clock, with store, currency, tags."""
    orders = _included_orders(world, as_of)[["order_id", "store_id", "currency", "tags"]]
    refunds = _visible(world.refunds, as_of).merge(orders, on="order_id", how="inner")
    return refunds.sort_values("refund_id").reset_index(drop=True)


def _refund_transactions(world: Any, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Successful REFUND transactions at the clock that belong to a refund."""
    tx = _visible(world.transactions, as_of)
    tx = tx[(tx["kind"] == REFUND_KIND) & (tx["status"] == SUCCESS) & tx["refund_id"].notna()].copy()
    tx["refund_id"] = tx["refund_id"].astype("int64")
    return tx.sort_values("transaction_id")


def _refund_cash(
    refunds: pd.DataFrame, tx: pd.DataFrame, fx: FxRates
) -> tuple[dict[int, int], dict[int, int], dict[int, str]]:
    """Per refund: original cents, reporting cents (rounded per transaction, at the refund's local date) and
    currency."""
    local_date = dict(zip(refunds["refund_id"], refunds["local_date"], strict=True))
    original: dict[int, int] = {}
    reporting: dict[int, int] = {}
    currency_of: dict[int, str] = {}
    for refund_id, amount, currency in zip(tx["refund_id"], tx["amount_cents"], tx["currency"], strict=True):
        if refund_id not in local_date:
            continue
        original[refund_id] = original.get(refund_id, 0) + int(amount)
        converted = fx.to_reporting_cents(int(amount), currency, local_date[refund_id])
        reporting[refund_id] = reporting.get(refund_id, 0) + converted
        currency_of.setdefault(refund_id, currency)
    return original, reporting, currency_of


def _leak_event_rows(world: Any, sheets: Sheets, as_of: pd.Timestamp | None) -> Iterator[dict[str, Any]]:
    """One dict per included refund, in refund_id order."""
    refunds = _included_refunds(world, as_of)
    refunds["local_date"] = _local_dates(refunds["created_at"], refunds["store_id"], _store_timezones(world))
    refunds_per_order = refunds["order_id"].value_counts()
    codes = set(sheets.preventable_default) - {UNKNOWN_CAUSE}
    original, reporting, currency_of = _refund_cash(refunds, _refund_transactions(world, as_of), sheets.fx)
    for row in refunds.itertuples(index=False):
        cause, source = _resolve_cause(row.note_cause, row.tag_cause, int(refunds_per_order[row.order_id]), codes)
        preventable = _resolve_preventable(row.preventable_token, _tags(row.tags), cause, sheets.preventable_default)
        yield {
            "refund_id": int(row.refund_id),
            "order_id": int(row.order_id),
            "store_id": row.store_id,
            "local_date": row.local_date,
            "period_start": _month_start(row.local_date),
            "cause": cause,
            "cause_source": source,
            "preventable": preventable,
            "true_cause": None if _is_missing(row.true_cause) else str(row.true_cause),
            "true_preventable": None if _is_missing(row.true_preventable) else bool(row.true_preventable),
            "currency": currency_of.get(row.refund_id, row.currency),
            "cash_refunded": _cents_to_decimal(original.get(row.refund_id, 0)),
            "refund_cost_usd": _cents_to_decimal(reporting.get(row.refund_id, 0)),
        }


def compute_leak_events(world: Any, sheets_dir: Path) -> pd.DataFrame:
    """One row per refund of a non-test order: cause, preventability and cost in the reporting currency.

    `cash_refunded` is the sum of the refund's successful REFUND transactions in their original currency;
    `refund_cost_usd` converts each transaction at the refund's local date, rounds it to cents, then sums
    (both Decimal with two places). The column keeps its `_usd` name even if `meta.reporting_currency`
    differs.
    """
    sheets = load_sheets(Path(sheets_dir), _reporting_currency(world))
    return _leak_events(world, sheets, _as_of(world))


def _leak_events(world: Any, sheets: Sheets, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """The leak events frame from already parsed sheets."""
    rows = list(_leak_event_rows(world, sheets, as_of))
    return pd.DataFrame(rows, columns=LEAK_EVENT_COLUMNS).astype(object)


# --------------------------------------------------------------------------------------------------- kpis


@dataclass
class _Bucket:
    """Sums for one (store or portfolio) × month, in reporting cents."""

    orders_paid: int = 0
    net_revenue: int = 0
    gross_profit: int = 0
    refund_cost: int = 0
    preventable: int = 0
    covered: int = 0
    tagged: int = 0
    causes: dict[str, int] = field(default_factory=dict)  # refund cost per cause with at least one refund

    def add(self, other: _Bucket) -> None:
        """Accumulate another bucket into this one (used for the portfolio)."""
        self.orders_paid += other.orders_paid
        self.net_revenue += other.net_revenue
        self.gross_profit += other.gross_profit
        self.refund_cost += other.refund_cost
        self.preventable += other.preventable
        self.covered += other.covered
        self.tagged += other.tagged
        for cause, cents in other.causes.items():
            self.causes[cause] = self.causes.get(cause, 0) + cents


def _store_buckets(orders: pd.DataFrame, events: pd.DataFrame) -> dict[tuple[str, date], _Bucket]:
    """Sums per (store_id, period_start) from paid orders and leak events."""
    buckets: dict[tuple[str, date], _Bucket] = {}
    for row in orders.itertuples(index=False):
        bucket = buckets.setdefault((row.store_id, row.period_start), _Bucket())
        bucket.orders_paid += 1
        bucket.net_revenue += int(row.revenue_cents)
        bucket.gross_profit += int(row.revenue_cents) + int(row.shipping_cents) - int(row.cogs_cents)
    for row in events.itertuples(index=False):
        bucket = buckets.setdefault((row.store_id, row.period_start), _Bucket())
        cents = int(row.refund_cost_usd * 100)
        bucket.refund_cost += cents
        bucket.preventable += cents if row.preventable else 0
        bucket.covered += cents if row.cause_source != "unknown" else 0
        bucket.tagged += cents if row.cause_source == "tagged" else 0
        bucket.causes[row.cause] = bucket.causes.get(row.cause, 0) + cents
    return buckets


def _portfolio_buckets(stores: dict[tuple[str, date], _Bucket]) -> dict[date, _Bucket]:
    """Portfolio sums per month: money and counts summed over stores."""
    portfolio: dict[date, _Bucket] = {}
    for (_, period_start), bucket in sorted(stores.items()):
        portfolio.setdefault(period_start, _Bucket()).add(bucket)
    return portfolio


def _bucket_rows(store_id: str | None, period_start: date, bucket: _Bucket) -> list[tuple[Any, ...]]:
    """The kpis rows of one bucket: totals with dimension NULL, then refund cost and % of profit by cause."""
    totals: list[tuple[str, float | None]] = [
        ("orders_paid", float(bucket.orders_paid)),
        ("net_revenue", bucket.net_revenue / 100),
        ("gross_profit", bucket.gross_profit / 100),
        ("refund_cost", bucket.refund_cost / 100),
        ("preventable_refund_cost", bucket.preventable / 100),
        ("refund_cost_pct_of_profit", _ratio(bucket.refund_cost, bucket.gross_profit)),
        ("preventable_share", _ratio(bucket.preventable, bucket.refund_cost)),
        ("cause_coverage", _ratio(bucket.covered, bucket.refund_cost)),
        ("tagged_share", _ratio(bucket.tagged, bucket.refund_cost)),
    ]
    rows = [(metric, store_id, period_start, "month", None, None, value) for metric, value in totals]
    for cause, cents in sorted(bucket.causes.items()):
        rows.append(("refund_cost", store_id, period_start, "month", "cause", cause, cents / 100))
        rows.append(
            (
                "refund_cost_pct_of_profit",
                store_id,
                period_start,
                "month",
                "cause",
                cause,
                _ratio(cents, bucket.gross_profit),
            )
        )
    return rows


def _kpi_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A kpis DataFrame with object columns, so missing values stay None (never NaN)."""
    frame = pd.DataFrame(rows, columns=KPI_COLUMNS, dtype=object)
    return frame.astype(object)


def compute_kpis(world: Any, sheets_dir: Path) -> pd.DataFrame:
    """The slice's `kpis` rows (METRICS.md §13 long format) per store × local month and for the portfolio.

    Rows exist for every store-month with at least one paid order or one refund, and for the portfolio
    (store_id None) for every month in the union. `value` is a float, or None for a zero denominator.
    """
    sheets = load_sheets(Path(sheets_dir), _reporting_currency(world))
    as_of = _as_of(world)
    orders = order_amounts(world, sheets, as_of)
    events = _leak_events(world, sheets, as_of)
    stores = _store_buckets(orders, events)
    rows: list[tuple[Any, ...]] = []
    for (store_id, period_start), bucket in sorted(stores.items()):
        rows.extend(_bucket_rows(store_id, period_start, bucket))
    for period_start, bucket in sorted(_portfolio_buckets(stores).items()):
        rows.extend(_bucket_rows(None, period_start, bucket))
    return _kpi_frame(rows)


# --------------------------------------------------------------------------------------------------- output

_KPI_SCHEMA = pa.schema(
    [
        ("metric", pa.string()),
        ("store_id", pa.string()),
        ("period_start", pa.date32()),
        ("grain", pa.string()),
        ("dimension", pa.string()),
        ("dimension_value", pa.string()),
        ("value", pa.float64()),
    ]
)
_LEAK_EVENT_SCHEMA = pa.schema(
    [
        ("refund_id", pa.int64()),
        ("order_id", pa.int64()),
        ("store_id", pa.string()),
        ("local_date", pa.date32()),
        ("period_start", pa.date32()),
        ("cause", pa.string()),
        ("cause_source", pa.string()),
        ("preventable", pa.bool_()),
        ("true_cause", pa.string()),
        ("true_preventable", pa.bool_()),
        ("currency", pa.string()),
        ("cash_refunded", pa.decimal128(18, 2)),
        ("refund_cost_usd", pa.decimal128(18, 2)),
    ]
)


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Build an Arrow table column by column from Python values (None stays null, never NaN)."""
    arrays = [pa.array(list(frame[field.name]), type=field.type, from_pandas=False) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _leak_tables(world: Any, sheets_dir: Path) -> dict[str, pd.DataFrame]:
    """The truth tables of the complete leak picture (sandbox/ground_truth_leaks.py) when the world has them."""
    if "leaks" not in (getattr(world, "areas", None) or {}):
        return {}
    from sandbox.ground_truth_leaks import compute, planted_signals

    tables = {name: frame for name, frame in compute(world, Path(sheets_dir)).items() if name != "kpis"}
    tables["planted_signals"] = planted_signals(world)
    return tables


def write_ground_truth(world: Any, sheets_dir: Path, out_path: Path) -> None:
    """Write `main.kpis` and `main.leak_events` to a DuckDB file at `out_path`, atomically (temp + rename)."""
    out_path = Path(out_path)
    kpis = _to_arrow(compute_kpis(world, sheets_dir), _KPI_SCHEMA)
    leak_events = _to_arrow(compute_leak_events(world, sheets_dir), _LEAK_EVENT_SCHEMA)
    extra = _leak_tables(world, sheets_dir)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    for stale in (tmp_path, tmp_path.with_name(tmp_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp_path))
        try:
            con.register("kpis_arrow", kpis)
            con.register("leak_events_arrow", leak_events)
            con.execute("create table main.kpis as select * from kpis_arrow")
            con.execute("create table main.leak_events as select * from leak_events_arrow order by refund_id")
            for name, frame in extra.items():
                con.register(f"{name}_frame", frame)
                con.execute(f"create table main.{name} as select * from {name}_frame")
            con.execute("checkpoint")
        finally:
            con.close()
        out_path.with_name(out_path.name + ".wal").unlink(missing_ok=True)  # a stale WAL would be replayed
        os.replace(tmp_path, out_path)
    finally:
        tmp_path.unlink(missing_ok=True)
        tmp_path.with_name(tmp_path.name + ".wal").unlink(missing_ok=True)
