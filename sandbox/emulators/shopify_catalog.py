"""Shopify objects beyond the order core, derived from the world at the clock (see sandbox/WORLD.md, "Shopify").

- **Fulfillments** and their line items are the fulfilment area's tables (`sandbox/world/fulfilment.md`), at the
  clock. Creating a fulfillment changes the order (its fulfillment status), so Shopify bumps the order's
  `updatedAt`: `bump_order_updated_at` sets it to the latest of the world's `updated_at` and the `created_at` of
  the order's fulfillments at the clock. The world's fulfillments never change after creation (status always
  SUCCESS, one tracking number), so a fulfillment's `updatedAt` is its `createdAt`.
- **Locations** of a shop: the warehouse of its market and every supplier location (drop-shipping suppliers).
  Location ids are the world's (`locations.location_id`), so the same supplier location appears in several shops.
- **Products and variants** of a shop: one product with one variant per SKU of the shop's brand (`skus.sku`
  starts with the brand's first three letters, upper-cased), priced as the generator prices order lines
  (the USD base price converted with the preset rate, rounded to whole units, minus 5 cents), created
  `CATALOG_LEAD_DAYS` before the world's start and never updated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sandbox.world import World
from sandbox.world.presets import CURRENCIES

PRODUCT_ID_BASE = 70_000_000_000
VARIANT_ID_BASE = 71_000_000_000
STORE_ID_STRIDE = 100_000  # ids = base + store position × stride + sku position in `skus`
CATALOG_LEAD_DAYS = 30

FULFILLMENT_COLUMNS = ["fulfillment_id", "order_id", "location_id", "created_at", "status", "tracking_number",
                       "tracking_company"]
FULFILLMENT_LINE_COLUMNS = ["fulfillment_line_item_id", "fulfillment_id", "line_item_id", "quantity"]
LOCATION_COLUMNS = ["location_id", "name", "kind", "market", "supplier_id", "timezone", "country_code"]

# ISO 3166 alpha-3 (the world's `country_code`) → (alpha-2, English name) as LocationAddress renders them
COUNTRIES = {
    "AUS": ("AU", "Australia"), "GBR": ("GB", "United Kingdom"), "USA": ("US", "United States"),
    "CAN": ("CA", "Canada"), "CHN": ("CN", "China"), "SWE": ("SE", "Sweden"), "PRT": ("PT", "Portugal"),
}
# Public tracking pages of the carriers the world uses (Shopify fills `trackingInfo.url` for known companies)
TRACKING_URLS = {
    "auspost": "https://auspost.com.au/mypost/track/details/{number}",
    "royal-mail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "canada-post": "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}",
}


def tracking_url(company: str | None, number: str | None) -> str | None:
    template = TRACKING_URLS.get(company or "")
    return None if template is None or not number else template.format(number=number)


def country(code: str | None) -> tuple[str | None, str | None]:
    """(countryCode, country) of a world alpha-3 country code."""
    return COUNTRIES.get(code or "", (None, None))


def _frame(table: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c.endswith("_id") or c == "quantity" else object)
                             for c in columns})
    return table[columns].copy()


def fulfilment_tables(world: World) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(fulfillments, fulfillment line items, locations) of a world already at its clock.

    Fulfillments of orders the feed does not show (created after the clock, or after a frozen store's freeze)
    are left out, as are fulfillments created after the order's feed cut-off.
    """
    area: dict[str, Any] = world.areas.get("fulfilment", {})
    fl = _frame(area.get("fulfillments"), FULFILLMENT_COLUMNS)
    fl = fl[fl["order_id"].isin(world.orders["order_id"])]
    stale = world.meta.get("stale_store")
    if stale:
        frozen_orders = world.orders.loc[world.orders["store_id"] == stale["store_id"], "order_id"]
        fl = fl[~(fl["order_id"].isin(frozen_orders) & (fl["created_at"] > pd.Timestamp(stale["frozen_at"])))]
    fli = _frame(area.get("fulfillment_line_items"), FULFILLMENT_LINE_COLUMNS)
    fli = fli[fli["fulfillment_id"].isin(fl["fulfillment_id"])]
    locations = _frame(area.get("locations"), LOCATION_COLUMNS)
    locations["created_at"] = catalog_created_at(world)
    return fl.reset_index(drop=True), fli.reset_index(drop=True), locations.reset_index(drop=True)


def bump_order_updated_at(orders: pd.DataFrame, fulfillments: pd.DataFrame) -> pd.DataFrame:
    """Orders with `updated_at` = max(updated_at, latest fulfillment created_at) (see module docstring)."""
    last = fulfillments.groupby("order_id")["created_at"].max()
    shipped = orders["order_id"].map(last)
    orders = orders.copy()
    later = shipped.notna() & (shipped > orders["updated_at"])
    orders["updated_at"] = orders["updated_at"].where(~later, shipped)
    return orders


def store_location_ids(world: World, locations: pd.DataFrame) -> dict[str, list[int]]:
    """For each store, its locations: its market's warehouse and every supplier location (ascending id)."""
    out = {}
    for store in world.stores.itertuples(index=False):
        mine = locations[((locations["kind"] == "warehouse") & (locations["market"] == store.market))
                         | (locations["kind"] == "supplier")]
        out[store.store_id] = sorted(int(i) for i in mine["location_id"])
    return out


def catalog_created_at(world: World) -> pd.Timestamp:
    start = pd.Timestamp(world.meta["start_date"])
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    return start - pd.Timedelta(days=CATALOG_LEAD_DAYS)


def store_variants(world: World) -> pd.DataFrame:
    """One row per (store, SKU of its brand): variant and product ids, price in the store currency."""
    skus = world.skus.reset_index(drop=True)
    created = catalog_created_at(world)
    frames = []
    for position, store in enumerate(world.stores.itertuples(index=False)):
        prefix = f"{store.brand[:3].upper()}-"
        mine = skus[skus["sku"].str.startswith(prefix)]
        rate = CURRENCIES[store.currency]
        base = mine["base_price_usd_cents"].to_numpy()
        offset = position * STORE_ID_STRIDE + mine.index.to_numpy()
        frames.append(pd.DataFrame({
            "variant_id": (VARIANT_ID_BASE + offset).astype(np.int64),
            "product_id": (PRODUCT_ID_BASE + offset).astype(np.int64),
            "store_id": store.store_id,
            "sku": mine["sku"].to_numpy(),
            "product_title": mine["product_title"].to_numpy(),
            "vendor": store.brand,
            "price_cents": (np.round(base / rate / 100) * 100 - 5).astype(np.int64),
            "currency": store.currency,
            "created_at": created,
            "updated_at": created,
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["variant_id", "product_id", "store_id", "sku", "product_title", "vendor", "price_cents",
                 "currency", "created_at", "updated_at"])
