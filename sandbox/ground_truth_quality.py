"""Ground truth of data completeness (METRICS.md §12): each check evaluated on the true world at the clock.

`data_completeness` = passing checks / checks, for the portfolio (grain `asof`), overall and per domain. The
checks and their parameters are those METRICS.md §12 names (the thresholds are the documented defaults); the
world, not the warehouse, decides whether each passes, so a planted defect lowers the value exactly where the
warehouse's checks should catch it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sandbox.ground_truth import (
    KPI_COLUMNS,
    PAID_KINDS,
    SUCCESS,
    UNKNOWN_CAUSE,
    compute_leak_events,
    paid_orders,
)
from sandbox.world import clock, world_at

FRESHNESS_HOURS = 26
VOLUME_WINDOW_DAYS = 7
VOLUME_BAND_DAYS = 28
CAUSE_WINDOW_DAYS = 28
DEFAULT_CAUSE_COVERAGE_TARGET = 0.95
TRACKING_WITHIN_HOURS = 24
# area → the API (emulator) that serves it; Shopify always runs
API_AREAS = {"stripe": "payments", "reamaze": "support", "aftership": "fulfilment"}
# APIs whose list pages reach the warehouse as served (the Stripe source drops a record it already took this run)
PAGES_AS_SERVED = ("shopify", "reamaze", "aftership")
# APIs whose records are loaded whole (the others are mapped field by field, so an unknown field goes nowhere)
LOADED_WHOLE = ("aftership",)


def _local_day(stamps: pd.Series, store_ids: pd.Series, timezones: dict[str, str]) -> pd.Series:
    out = pd.Series(index=stamps.index, dtype=object)
    for store_id, tz in timezones.items():
        mask = store_ids == store_id
        out[mask] = pd.to_datetime(stamps[mask], utc=True).dt.tz_convert(tz).dt.date
    return out


def _sheet(sheets_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(sheets_dir / f"{name}.csv", dtype=str, keep_default_na=False)


def sku_mapped(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    catalog = _sheet(sheets_dir, "sku_catalog")
    mapped = set(catalog.loc[(catalog["supplier_id"] != "") & (catalog["unit_cogs"] != ""), "sku"])
    return set(world.line_items["sku"]) <= mapped


def orders_fresh(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    newest = pd.to_datetime(world.orders["updated_at"], utc=True).groupby(world.orders["store_id"]).max()
    stores = _sheet(sheets_dir, "stores")["store_id"]
    hours = [(now - newest[s]).total_seconds() / 3600 if s in newest.index else float("inf") for s in stores]
    return all(h <= FRESHNESS_HOURS for h in hours)


def fx_for_every_currency_day(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    rates = _sheet(sheets_dir, "fx_rates")
    have = set(zip(rates["currency"], rates["date"], strict=True))
    paid = paid_orders(world, now)
    used = set(zip(paid["currency"], paid["paid_date"].astype(str), strict=True))
    catalog = _sheet(sheets_dir, "sku_catalog").set_index("sku")["cogs_currency"]
    lines = world.line_items[world.line_items["order_id"].isin(paid["order_id"])]
    line_day = lines["order_id"].map(paid.set_index("order_id")["paid_date"]).astype(str)
    line_currency = lines["sku"].map(catalog)
    used |= {(c, d) for c, d in zip(line_currency, line_day, strict=True) if isinstance(c, str) and c}
    events = compute_leak_events(world, sheets_dir)
    used |= {(c, str(d)) for c, d in zip(events["currency"], events["local_date"], strict=True)
             if isinstance(c, str) and c}
    return used <= have


def required_order_fields(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    orders, lines = world.orders, world.line_items
    tx = world.transactions
    paid = set(tx.loc[tx["kind"].isin(PAID_KINDS) & (tx["status"] == SUCCESS), "order_id"])
    complete = orders[["order_id", "store_id", "currency"]].notna().all(axis=None)
    paid_have_time = orders.loc[orders["order_id"].isin(paid), "processed_at"].notna().all() \
        if "processed_at" in orders else True
    skus = lines["sku"].fillna("").astype(str).str.strip()
    return bool(complete and paid_have_time and (skus != "").all())


def refunds_map_to_orders(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    refunds_ok = world.refunds["order_id"].isin(world.orders["order_id"]).all()
    lines_ok = world.refund_line_items["line_item_id"].isin(world.line_items["line_item_id"]).all()
    return bool(refunds_ok and lines_ok)


def daily_order_volume(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    stores = _sheet(sheets_dir, "stores")
    timezones = dict(zip(stores["store_id"], stores["timezone"], strict=True))
    orders = world.orders[world.orders["store_id"].isin(timezones)]
    days = _local_day(orders["created_at"], orders["store_id"], timezones)
    counts = pd.DataFrame({"store_id": orders["store_id"], "day": days}).value_counts()
    for store_id, tz in timezones.items():
        today = now.tz_convert(tz).date()
        window = [today - pd.Timedelta(days=n) for n in range(1, VOLUME_WINDOW_DAYS + 1)]
        band = [today - pd.Timedelta(days=n)
                for n in range(VOLUME_WINDOW_DAYS + 1, VOLUME_WINDOW_DAYS + VOLUME_BAND_DAYS + 1)]
        band_counts = pd.Series([counts.get((store_id, d), 0) for d in band], dtype=float)
        mean, sd = band_counts.mean(), band_counts.std(ddof=1)
        sd = 0.0 if pd.isna(sd) else sd
        low, high = max(1, math.floor(mean - 3 * sd)), math.ceil(mean + 3 * sd)
        if any(not low <= counts.get((store_id, d), 0) <= high for d in window):
            return False
    return True


def refund_cause_coverage(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    targets = _sheet(sheets_dir, "kpi_targets")
    target_rows = targets.loc[targets["metric"] == "cause_coverage", "target"]
    target = float(target_rows.iloc[0]) if len(target_rows) else DEFAULT_CAUSE_COVERAGE_TARGET
    events = compute_leak_events(world, sheets_dir)
    created = events["refund_id"].map(world.refunds.set_index("refund_id")["created_at"])
    created = pd.to_datetime(created, utc=True)
    recent = events[(created > now - pd.Timedelta(days=CAUSE_WINDOW_DAYS)) & (created <= now)]
    for _store, group in recent.groupby("store_id"):
        cost = group["refund_cost_usd"].astype(float)
        if cost.sum() == 0:
            continue
        known = cost[group["cause_source"] != UNKNOWN_CAUSE].sum()
        if known / cost.sum() < target:
            return False
    return True


def _fresh(stamps: pd.Series, now: pd.Timestamp) -> bool:
    stamps = pd.to_datetime(stamps, utc=True)
    stamps = stamps[stamps <= now]
    return bool(len(stamps)) and (now - stamps.max()).total_seconds() / 3600 <= FRESHNESS_HOURS


def _source_fresh(area: str, table: str, column: str) -> Callable[[Any, Path, pd.Timestamp], bool]:
    """The newest `column` of the area's `table` is within FRESHNESS_HOURS of the clock (area absent: the source
    is not configured, nothing to check)."""
    def evaluate(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
        tables = world.areas.get(area)
        return True if tables is None else _fresh(tables[table][column], now)

    return evaluate


def _served_fulfillments(world: Any) -> pd.DataFrame | None:
    """Fulfillments as Shopify serves them: nested in their order, so none of an order a frozen feed hides."""
    tables = world.areas.get("fulfilment")
    if tables is None:
        return None
    fulfillments = tables["fulfillments"]
    frozen = {world.meta["stale_store"]["store_id"]} if world.meta.get("stale_store") else set()
    store = fulfillments["fulfillment_id"].map(tables["trackings"].set_index("fulfillment_id")["store_id"])
    hidden = store.isin(frozen) & ~fulfillments["order_id"].isin(world.orders["order_id"])
    return fulfillments[~hidden]


def fulfillments_map_to_orders(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    fulfillments = _served_fulfillments(world)
    return True if fulfillments is None else bool(fulfillments["order_id"].isin(world.orders["order_id"]).all())


def charges_map_to_orders(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    """Charges naming a Shopify order map to it (METRICS §6 mapping: account brand + shop domain, order name)."""
    from sandbox.ground_truth_payments import _map_charges

    tables = world.areas.get("payments")
    if tables is None:
        return True
    mapped = _map_charges(world, tables, now)
    named = mapped[mapped["metadata_shopify_order"].notna()]
    return bool(named["order"].notna().all())


def fulfillments_tracked(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    """Fulfillments older than TRACKING_WITHIN_HOURS have a tracking number and a tracking of it created within
    TRACKING_WITHIN_HOURS of the fulfillment."""
    fulfillments = _served_fulfillments(world)
    if fulfillments is None:
        return True
    window = pd.Timedelta(hours=TRACKING_WITHIN_HOURS)
    created = pd.to_datetime(fulfillments["created_at"], utc=True)
    due = fulfillments[created <= now - window]
    numbers = due["tracking_number"].fillna("").astype(str).str.strip()
    trackings = world.areas["fulfilment"]["trackings"]
    first = pd.to_datetime(trackings["created_at"], utc=True).groupby(trackings["tracking_number"]).min()
    tracked_at = numbers.map(first)
    in_time = tracked_at.notna() & (tracked_at <= pd.to_datetime(due["created_at"], utc=True) + window)
    return bool(((numbers != "") & in_time).all())


def _fault_on(world: Any, api: str, fault: str) -> bool:
    """The world's `api` emulator injects `fault` (sandbox/build.py plants it in meta `faults`) and serves."""
    configured = api == "shopify" or API_AREAS[api] in world.areas
    return configured and float(world.meta.get("faults", {}).get(api, {}).get(fault, 0) or 0) > 0


def raw_records_unique(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    return not any(_fault_on(world, api, "duplicates") for api in PAGES_AS_SERVED)


def raw_schema_unchanged(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    return not any(_fault_on(world, api, "drift_breaking") for api in ("shopify", *API_AREAS))


def raw_schema_no_new_fields(world: Any, sheets_dir: Path, now: pd.Timestamp) -> bool:
    return not any(_fault_on(world, api, "drift_additive") for api in LOADED_WHOLE)


# name → (domain, evaluator): the checks of METRICS.md §12 the warehouse implements (expectations/suites.py)
CHECKS: dict[str, tuple[str, Callable[[Any, Path, pd.Timestamp], bool]]] = {
    "sku_mapped_to_supplier_and_cogs": ("required_fields", sku_mapped),
    "orders_fresh": ("freshness", orders_fresh),
    "fx_rate_for_every_currency_day": ("required_fields", fx_for_every_currency_day),
    "required_order_fields": ("required_fields", required_order_fields),
    "refunds_map_to_orders": ("referential", refunds_map_to_orders),
    "daily_order_volume": ("volume", daily_order_volume),
    "refund_cause_coverage": ("cause_coverage", refund_cause_coverage),
    "stripe_fresh": ("freshness", _source_fresh("payments", "charges", "created_at")),
    "reamaze_fresh": ("freshness", _source_fresh("support", "messages", "created_at")),
    "aftership_fresh": ("freshness", _source_fresh("fulfilment", "trackings", "updated_at")),
    "fulfillments_map_to_orders": ("referential", fulfillments_map_to_orders),
    "charges_map_to_orders": ("referential", charges_map_to_orders),
    "fulfillments_tracked": ("tracking_coverage", fulfillments_tracked),
    "raw_records_unique": ("duplicates", raw_records_unique),
    "raw_schema_unchanged": ("schema", raw_schema_unchanged),
    "raw_schema_no_new_fields": ("schema", raw_schema_no_new_fields),
}


def check_outcomes(world: Any, sheets_dir: Path) -> pd.DataFrame:
    """One row per check: name, domain, passed (on the world as the APIs show it at the clock)."""
    at_clock = world_at(world)
    now = clock(world)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    rows = [(name, domain, bool(evaluate(at_clock, Path(sheets_dir), now)))
            for name, (domain, evaluate) in CHECKS.items()]
    return pd.DataFrame(rows, columns=["check_name", "domain", "passed"])


def compute_kpis(world: Any, sheets_dir: Path) -> pd.DataFrame:
    outcomes = check_outcomes(world, sheets_dir)
    now = clock(world)
    day = (now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")).date()
    rows = [("data_completeness", None, day, "asof", None, None, float(outcomes["passed"].mean()))]
    for domain, group in outcomes.groupby("domain", sort=True):
        rows.append(("data_completeness", None, day, "asof", "domain", domain, float(group["passed"].mean())))
    return pd.DataFrame(rows, columns=KPI_COLUMNS, dtype=object)
