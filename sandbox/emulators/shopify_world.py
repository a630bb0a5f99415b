"""The world as the Shopify emulator sees it: the clock applied, columnar, indexed for O(page) reads.

`ShopifyWorld.load(world_dir)` reads the world (`sandbox.world.load_world`), adds the leaks area's replacement orders
(`shopify_leaks`) and takes its view at the clock
`meta.as_of` with `sandbox.world.world_at`, the same function the ground truth uses: rows created after the
clock do not exist yet, an order's `updated_at` is its last change up to the clock, and an order tag
`refund-cause:<code>` appears only once its refund exists.

Rows stay in numpy columns (timestamps as int64 epoch *seconds*, the precision the API renders; missing
values as `None` in object columns, `NO_ID` in id columns, `NO_TIME` in time columns). Each store gets its own
orders table with one `SortIndex` per supported sort key; child tables are grouped by parent id and read in
bulk for a whole page (`Table.rows_by_parent`).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sandbox.emulators.shopify_catalog import (
    bump_order_updated_at,
    fulfilment_tables,
    store_location_ids,
    store_variants,
)
from sandbox.world import load_world, world_at

log = logging.getLogger(__name__)
Row = dict[str, Any]
NO_ID = -1
NO_TIME = np.iinfo(np.int64).min
SORT_COLUMNS = {
    "ID": "order_id",
    "CREATED_AT": "created_at",
    "UPDATED_AT": "updated_at",
    "PROCESSED_AT": "processed_at",
    "ORDER_NUMBER": "order_number",
}
TIME_COLUMNS = frozenset({"created_at", "updated_at", "processed_at", "cancelled_at"})
ID_COLUMNS = frozenset({"refund_id", "parent_transaction_id", "customer_id"})


def iso(seconds: int) -> str | None:
    """Render epoch seconds as Shopify renders a DateTime (`2026-01-01T00:00:00Z`)."""
    if seconds == NO_TIME:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _time_column(series: pd.Series) -> np.ndarray:
    values = pd.to_datetime(series, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    seconds = values.astype("datetime64[s]").view(np.int64).copy()
    seconds[np.isnat(values)] = NO_TIME
    return seconds


def _column(name: str, series: pd.Series) -> np.ndarray:
    """Normalise one DataFrame column to the numpy representation described in the module docstring."""
    if name in TIME_COLUMNS:
        return _time_column(series)
    if name in ID_COLUMNS or (name.endswith("_id") and pd.api.types.is_numeric_dtype(series.dtype)):
        return series.to_numpy(dtype=np.int64, na_value=NO_ID)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.to_numpy(dtype=np.int64)
    return series.to_numpy(dtype=object, na_value=None)


@dataclass(frozen=True)
class SortIndex:
    """Rows ordered by (value, id) ascending; `positions` are row positions in the table.

    The three sequences are numpy arrays for a store's orders, or plain lists/ranges for small child lists;
    lookups use `bisect`, which works on both.
    """

    values: Sequence[int]
    ids: Sequence[int]
    positions: Sequence[int]

    def __len__(self) -> int:
        return len(self.ids)

    def bisect(self, value: int, id_: int, *, right: bool) -> int:
        """Index of (value, id) in the ordering: leftmost insertion point, or rightmost when `right`."""
        lo = bisect.bisect_left(self.values, value)
        hi = bisect.bisect_right(self.values, value, lo)
        return (bisect.bisect_right if right else bisect.bisect_left)(self.ids, id_, lo, hi)

    def bisect_value(self, value: int, *, right: bool) -> int:
        """Index of the first row whose value is >= `value` (> `value` when `right`)."""
        return (bisect.bisect_right if right else bisect.bisect_left)(self.values, value)


class Table:
    """Columnar rows of one table, sorted by id, with optional groupings by parent-id columns."""

    def __init__(self, df: pd.DataFrame, id_col: str, group_cols: tuple[str, ...] = ()) -> None:
        df = df.sort_values(id_col, kind="stable").reset_index(drop=True)
        self.id_col = id_col
        self.cols: dict[str, np.ndarray] = {name: _column(name, df[name]) for name in df.columns}
        self.ids: np.ndarray = self.cols[id_col]
        self._groups: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for col in group_cols:
            keys = self.cols[col]
            order = np.argsort(keys, kind="stable")  # stable keeps ids ascending within a parent
            self._groups[col] = (keys[order], order)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def position(self, id_: int) -> int | None:
        """Row position of `id_`, or None."""
        pos = int(np.searchsorted(self.ids, id_))
        if pos < len(self) and int(self.ids[pos]) == id_:
            return pos
        return None

    def rows(self, positions: np.ndarray | list[int]) -> list[Row]:
        """The rows at `positions` as dicts of plain Python values (one numpy call per column)."""
        positions = np.asarray(positions, dtype=np.int64)
        names = list(self.cols)
        columns = [self.cols[name][positions].tolist() for name in names]
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def rows_by_parent(self, col: str, keys: Sequence[int]) -> dict[int, list[Row]]:
        """For each key, the rows whose `col` equals it, ascending by id (a bulk lookup for a whole page)."""
        sorted_keys, order = self._groups[col]
        keys = np.unique(np.asarray(keys, dtype=np.int64))
        if keys.size == 0:
            return {}
        lo = np.searchsorted(sorted_keys, keys, side="left")
        hi = np.searchsorted(sorted_keys, keys, side="right")
        counts = hi - lo
        # positions of all matches: for each key, order[lo:hi], concatenated without a Python loop
        starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        rows = self.rows(order[starts + np.arange(int(counts.sum()))])
        grouped: dict[int, list[Row]] = {k: [] for k in keys.tolist()}
        for row in rows:
            grouped[row[col]].append(row)
        return grouped

    def rows_by_id(self, ids: Sequence[int]) -> dict[int, Row]:
        """The rows with these ids (missing ids are left out)."""
        wanted = np.unique(np.asarray(ids, dtype=np.int64))
        pos = np.searchsorted(self.ids, wanted)
        pos = pos[pos < len(self)]
        pos = pos[np.isin(self.ids[pos], wanted)]
        return {row[self.id_col]: row for row in self.rows(pos)}


@dataclass(frozen=True)
class Store:
    """One shop of the portfolio with its orders at the clock."""

    store_id: str
    shop: str
    access_token: str
    currency: str
    tz: ZoneInfo
    orders: Table
    sort_indexes: dict[str, SortIndex]
    plan: str = "standard"  # Shopify plan: sets the query-cost bucket (`shopify_cost.PLAN_LIMITS`)


def _sort_indexes(orders: Table) -> dict[str, SortIndex]:
    indexes = {}
    ids = orders.ids
    for key, col in SORT_COLUMNS.items():
        values = orders.cols[col]
        order = np.lexsort((ids, values))
        indexes[key] = SortIndex(values=values[order], ids=ids[order], positions=order)
    return indexes


def _parse_as_of(meta: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(meta["as_of"]).astimezone(UTC)


@dataclass(frozen=True)
class ShopifyWorld:
    """Everything the Shopify emulator serves, as of `as_of`."""

    as_of: datetime
    stores: dict[str, Store]  # by shop handle
    line_items: Table  # grouped by order_id
    transactions: Table  # grouped by order_id and refund_id
    refunds: Table  # grouped by order_id
    refund_line_items: Table  # grouped by refund_id
    customers: Table
    # shopify_catalog: fulfillments (grouped by order_id), their line items (by fulfillment_id), locations,
    # each store's location ids and its variants (grouped by product_id)
    fulfillments: Table | None = None
    fulfillment_line_items: Table | None = None
    locations: Table | None = None
    store_locations: dict[str, list[int]] = field(default_factory=dict)
    variants: dict[str, Table] = field(default_factory=dict)
    leaks: Any = None  # `shopify_leaks.LeakTables`: returns, refund staff, store credit (`shopify_leaks`)

    @classmethod
    def load(cls, world_dir: Path) -> ShopifyWorld:
        """Read the world, take its view at the clock (`world_at`) and index it (see module docstring)."""
        # imported here: shopify_leaks builds on the resolvers, which build on this module
        from sandbox.emulators.shopify_leaks import bump_for_leaks, leak_tables, with_replacement_orders

        world = with_replacement_orders(world_at(load_world(world_dir)))
        as_of = _parse_as_of(world.meta)
        fulfillments, fulfillment_lines, locations = fulfilment_tables(world)
        world.orders = bump_for_leaks(bump_order_updated_at(world.orders, fulfillments), world)
        variants = store_variants(world)
        stores = {
            row.shop: Store(
                store_id=row.store_id,
                shop=row.shop,
                access_token=row.access_token,
                currency=row.currency,
                tz=ZoneInfo(row.timezone),
                orders=(table := Table(world.orders[world.orders["store_id"] == row.store_id], "order_id")),
                sort_indexes=_sort_indexes(table),
                plan=getattr(row, "shopify_plan", None) or "standard",
            )
            for row in world.stores.itertuples(index=False)
        }
        return cls(
            as_of=as_of,
            stores=stores,
            line_items=Table(world.line_items, "line_item_id", ("order_id",)),
            transactions=Table(world.transactions, "transaction_id", ("order_id", "refund_id")),
            refunds=Table(world.refunds, "refund_id", ("order_id",)),
            refund_line_items=Table(world.refund_line_items, "refund_line_item_id", ("refund_id",)),
            customers=Table(world.customers, "customer_id"),
            fulfillments=Table(fulfillments, "fulfillment_id", ("order_id",)),
            fulfillment_line_items=Table(fulfillment_lines, "fulfillment_line_item_id", ("fulfillment_id",)),
            locations=Table(locations, "location_id"),
            store_locations=store_location_ids(world, locations),
            variants={store_id: Table(variants[variants["store_id"] == store_id], "variant_id", ("product_id",))
                      for store_id in world.stores["store_id"]},
            leaks=leak_tables(world, fulfillment_lines),
        )

    @property
    def plans(self) -> dict[str, str]:
        """Each store's Shopify plan, by store id (the key of its query-cost bucket)."""
        return {store.store_id: store.plan for store in self.stores.values()}
