"""The simulated portfolio: tables of true events (see sandbox/WORLD.md)."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import ModuleType

import pandas as pd

TABLES = (
    "stores",
    "suppliers",
    "skus",
    "customers",
    "orders",
    "line_items",
    "transactions",
    "refunds",
    "refund_line_items",
)

# Areas simulated on top of the base world, one module each with `simulate(seed, world)` and
# `at_clock(tables, as_of)`; their tables live in `world/<area>/<table>.parquet`.
AREAS = ("support", "fulfilment", "payments", "leaks")
SHEET_PREFIX = "sheet:"


def area_module(area: str) -> ModuleType:
    return importlib.import_module(f"sandbox.world.{area}")


@dataclass
class World:
    """Every table of the world as a DataFrame, plus the meta dict (clock, seed, preset)."""

    stores: pd.DataFrame
    suppliers: pd.DataFrame
    skus: pd.DataFrame
    customers: pd.DataFrame
    orders: pd.DataFrame
    line_items: pd.DataFrame
    transactions: pd.DataFrame
    refunds: pd.DataFrame
    refund_line_items: pd.DataFrame
    meta: dict = field(default_factory=dict)
    # area → table → frame; keys starting with `sheet:` are ops sheets (written to sheets/, not world/)
    areas: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("meta", "areas")}


def load_world(world_dir: Path | str) -> World:
    """Read a world written by `generate_world` (parquet per table + meta.json)."""
    world_dir = Path(world_dir)
    meta_path = world_dir / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(
            f"no sandbox world at {world_dir}: run `leakwatch sandbox generate` first"
        )
    frames = {name: pd.read_parquet(world_dir / f"{name}.parquet") for name in TABLES}
    areas = {
        area: {path.stem: pd.read_parquet(path) for path in sorted((world_dir / area).glob("*.parquet"))}
        for area in AREAS
        if (world_dir / area).is_dir()
    }
    return World(**frames, meta=json.loads(meta_path.read_text()), areas=areas)


def clock(world: World) -> pd.Timestamp:
    return pd.Timestamp(world.meta["as_of"])


def _feed_frozen_at(world: World) -> dict[str, pd.Timestamp]:
    stale = world.meta.get("stale_store")
    return {stale["store_id"]: pd.Timestamp(stale["frozen_at"])} if stale else {}


def world_at(world: World, as_of: pd.Timestamp | None = None) -> World:
    """The world as the APIs show it at the clock (default `meta.as_of`).

    The generator simulates past the clock (so `sandbox advance` only moves it): rows created after the clock
    do not exist yet, an order's `updated_at` is its last change up to the clock, and an order tag
    `refund-cause:<code>` appears only once the refund it was written for exists.
    """
    if as_of is None and world.meta.get("at_clock"):
        return world  # already the view at its clock: area `at_clock` functions are not idempotent
    as_of = as_of if as_of is not None else clock(world)
    # one view per world and clock, computed once: the ground truth of every area asks for it. A caller that
    # changes the clock, the planted stale store or replaces a table gets a fresh view (edits inside a frame
    # after the first call are not noticed: the world is read-only once simulated)
    key = (as_of, repr(world.meta.get("stale_store")))
    inputs = (*world.tables().values(), world.areas, *world.areas.values())
    cached_key, cached_inputs, cached = world.__dict__.get("_view", (None, (), None))
    if (cached is not None and cached_key == key and len(cached_inputs) == len(inputs)
            and all(a is b for a, b in zip(cached_inputs, inputs, strict=True))):
        return cached
    view = _view_at(world, as_of)
    view.__dict__["source"] = world
    world.__dict__["_view"] = (key, inputs, view)  # the latest only: a view holds copies of the orders
    return view


def source_world(world: World) -> World:
    """The simulated world a `world_at` view was taken from (the world itself when it is not a view)."""
    return world.__dict__.get("source", world)


def _view_at(world: World, as_of: pd.Timestamp) -> World:
    # the planted `stale_store` defect: that store's feed shows nothing newer than the moment it froze
    cutoff = pd.Series(as_of, index=world.orders.index)
    for store_id, frozen_at in _feed_frozen_at(world).items():
        cutoff[world.orders["store_id"] == store_id] = min(frozen_at, as_of)
    order_cutoff = pd.Series(cutoff.to_numpy(), index=world.orders["order_id"])
    orders = world.orders[world.orders["created_at"] <= cutoff].copy()
    refunds = world.refunds[world.refunds["order_id"].isin(orders["order_id"])]
    refunds = refunds[refunds["created_at"] <= refunds["order_id"].map(order_cutoff)]
    transactions = world.transactions[world.transactions["order_id"].isin(orders["order_id"])]
    transactions = transactions[transactions["created_at"] <= transactions["order_id"].map(order_cutoff)]
    line_items = world.line_items[world.line_items["order_id"].isin(orders["order_id"])]
    refund_lines = world.refund_line_items[world.refund_line_items["refund_id"].isin(refunds["refund_id"])]

    last_refund = refunds.groupby("order_id")["created_at"].max()
    refund_time = (orders["order_id"].map(last_refund) if len(last_refund)  # (an empty map would give floats)
                   else pd.Series(pd.NaT, index=orders.index, dtype=orders["created_at"].dtype))
    orders["updated_at"] = orders["created_at"].where(
        refund_time.isna() | (refund_time <= orders["created_at"]), refund_time
    )
    # a cancellation exists once it happened (cancelledAt / cancelReason stay null until then)
    cancelled = orders["cancelled_at"].notna() & (orders["cancelled_at"] <= cutoff[orders.index])
    orders["cancelled_at"] = orders["cancelled_at"].where(cancelled)
    orders["cancel_reason"] = orders["cancel_reason"].where(cancelled)
    orders["updated_at"] = orders["updated_at"].where(
        ~cancelled | (orders["cancelled_at"] <= orders["updated_at"]), orders["cancelled_at"])
    written = set(zip(refunds["order_id"], "refund-cause:" + refunds["tag_cause"].fillna("")))
    orders["tags"] = [
        [t for t in tags if not t.startswith("refund-cause:") or (order_id, t) in written]
        for order_id, tags in zip(orders["order_id"], orders["tags"])
    ]
    meta = {**world.meta, "as_of": as_of.isoformat().replace("+00:00", "Z"), "at_clock": True}
    areas = {
        area: area_module(area).at_clock(
            {k: v for k, v in tables.items() if not k.startswith(SHEET_PREFIX)}, as_of
        )
        for area, tables in world.areas.items()
    }
    return World(stores=world.stores, suppliers=world.suppliers, skus=world.skus, customers=world.customers,
                 orders=orders.reset_index(drop=True), line_items=line_items.reset_index(drop=True),
                 transactions=transactions.reset_index(drop=True), refunds=refunds.reset_index(drop=True),
                 refund_line_items=refund_lines.reset_index(drop=True), meta=meta, areas=areas)
