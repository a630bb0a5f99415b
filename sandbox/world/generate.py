"""Generate a deterministic world (numpy-vectorised: no Python loop per order).

The world is written as parquet tables plus meta.json (see sandbox/WORLD.md); the ops sheets and the
sandbox connection config are written beside it by `write_sandbox`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from sandbox.world import AREAS, SHEET_PREFIX, World, area_module
from sandbox.world.presets import (
    BRANDS,
    CAUSES,
    CURRENCIES,
    PLANTED_DEFECT_SUPPLIER,
    PRESETS,
    STORES,
    SUPPLIERS,
    Preset,
)

DEFAULT_AS_OF = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
REFUND_RATE = 0.09
UNPAID_RATE = 0.03
DECLINE_BEFORE_SUCCESS_RATE = 0.05
# Stock-outs and fraud caught before shipping: the merchant cancels the order (Shopify `cancelReason`) and refunds
# it whole. Share of such refunds that are cancellations, the delay after payment (hours, per reason), and the
# share of cancellations whose cause nobody writes down (the cancel reason is the only trace: METRICS §3 infers it)
CANCEL_REASONS = {"out_of_stock": "INVENTORY", "fraud": "FRAUD"}
CANCEL_SHARE = 0.85
CANCEL_DELAY_HOURS = {"INVENTORY": (4.0, 72.0), "FRAUD": (0.3, 24.0)}
CANCEL_UNRECORDED = 0.5
CANCEL_STREAM = 4107
# The world is simulated this far past the clock, so `sandbox advance` only has to move the clock.
HORIZON_DAYS = 30
NOTE_WORDS = [
    "Customer emailed about it.",
    "Refund approved after photos.",
    "Per support ticket.",
    "Handled by ops.",
    "",
]


def _ts(values: np.ndarray) -> pd.Series:
    """Microsecond UTC timestamps from int64 epoch microseconds."""
    return pd.to_datetime(values, unit="us", utc=True)


def _money_round(cents: np.ndarray) -> np.ndarray:
    return np.round(cents).astype(np.int64)


def _stores(preset: Preset) -> pd.DataFrame:
    rows = STORES[: preset.store_count]
    df = pd.DataFrame(rows, columns=["store_id", "brand", "market", "currency", "timezone", "order_cutoff_local"])
    df["shop"] = df["store_id"]
    df["shop_domain"] = df["shop"] + ".myshopify.com"
    df["business_days"] = "Mon-Fri"
    df["access_token"] = "shpat_sandbox_" + df["store_id"].str.replace("-", "_")
    # one Shopify Plus organisation: every market is an expansion store of its brand, on the Plus API limits
    df["shopify_plan"] = "plus"
    return df[["store_id", "brand", "market", "shop", "shop_domain", "currency", "timezone",
               "order_cutoff_local", "business_days", "access_token", "shopify_plan"]]


def _skus(rng: np.random.Generator, preset: Preset, brands: list[str]) -> pd.DataFrame:
    frames = []
    supplier_ids = [s[0] for s in SUPPLIERS]
    cogs_ccy = {s[0]: s[3] for s in SUPPLIERS}
    for brand in brands:
        words, lo, hi = BRANDS[brand]
        n = preset.skus_per_brand
        price = rng.integers(lo // 100, hi // 100, size=n) * 100 - 5
        # the planted supplier makes a third of the lighting range; others share the rest
        sup = rng.choice(supplier_ids, size=n)
        if brand == "Lumen":
            sup[rng.permutation(n)[: max(2, n // 4)]] = PLANTED_DEFECT_SUPPLIER
        cogs_ratio = rng.uniform(0.25, 0.45, size=n)
        cogs_usd = price * cogs_ratio
        ccy = np.array([cogs_ccy[s] for s in sup])
        rate = np.array([CURRENCIES[c] for c in ccy])
        frames.append(pd.DataFrame({
            "sku": [f"{brand[:3].upper()}-{i:04d}" for i in range(n)],
            "product_title": [f"{brand} {words[i % len(words)]} {i // len(words) + 1}" for i in range(n)],
            "supplier_id": sup,
            "unit_cogs_cents": _money_round(cogs_usd / rate),
            "cogs_currency": ccy,
            "base_price_usd_cents": price.astype(np.int64),
            "brand": brand,
        }))
    return pd.concat(frames, ignore_index=True)


def _customers(rng: np.random.Generator, preset: Preset) -> pd.DataFrame:
    first = np.array(["Ava", "Noah", "Mia", "Leo", "Zoe", "Omar", "Ivy", "Kai", "Ella", "Sam"])
    last = np.array(["Smith", "Nguyen", "Patel", "Brown", "Garcia", "Kim", "Wilson", "Rossi", "Chen", "Khan"])
    n = preset.customers
    ids = np.arange(7_000_000_000, 7_000_000_000 + n, dtype=np.int64)
    f = rng.choice(first, size=n)
    la = rng.choice(last, size=n)
    return pd.DataFrame({
        "customer_id": ids,
        "email": (pd.Series(np.char.lower(f)) + "." + pd.Series(np.char.lower(la))
                  + pd.Series(np.arange(n) % 997).astype(str) + "@example.com").to_numpy(dtype=object),
        "first_name": f,
        "last_name": la,
    })


def _orders(rng: np.random.Generator, preset: Preset, stores: pd.DataFrame, customers: pd.DataFrame,
            start: datetime, end: datetime) -> pd.DataFrame:
    days = preset.days + HORIZON_DAYS + 1
    day_starts = np.array([int((start + timedelta(days=d)).timestamp() * 1e6) for d in range(days)], dtype=np.int64)
    weekday = np.array([(start + timedelta(days=d)).weekday() for d in range(days)])
    weekday_factor = np.where(weekday >= 5, 1.25, 1.0)
    season = 1.0 + 0.3 * np.sin(np.arange(days) / days * np.pi)
    parts = []
    for s_idx, store in enumerate(stores.itertuples()):
        lam = preset.orders_per_store_day * weekday_factor * season * (1.0 - 0.12 * s_idx)
        counts = rng.poisson(lam)
        day_of = np.repeat(np.arange(days), counts)
        created = day_starts[day_of] + rng.integers(0, 86_400_000_000, size=day_of.size)
        created.sort()
        parts.append(pd.DataFrame({
            "store_id": store.store_id,
            "currency": store.currency,
            "created_us": created,
        }))
    orders = pd.concat(parts, ignore_index=True)
    orders = orders[orders["created_us"] <= int(end.timestamp() * 1e6)].reset_index(drop=True)
    n = len(orders)
    orders["order_id"] = np.arange(5_000_000_000, 5_000_000_000 + n, dtype=np.int64)
    orders["order_number"] = orders.groupby("store_id").cumcount().astype(np.int64) + 1001
    orders["name"] = "#" + orders["order_number"].astype(str)
    cust_idx = rng.integers(0, len(customers), size=n)
    orders["customer_id"] = customers["customer_id"].to_numpy()[cust_idx]
    orders["email"] = customers["email"].to_numpy()[cust_idx]
    orders["shipping_price_cents"] = np.where(rng.random(n) < 0.4, 995, 0).astype(np.int64)
    orders["test"] = rng.random(n) < 0.005
    return orders


def _line_items(rng: np.random.Generator, orders: pd.DataFrame, stores: pd.DataFrame,
                skus: pd.DataFrame) -> pd.DataFrame:
    n_lines = rng.choice([1, 1, 1, 2, 2, 3], size=len(orders))
    order_idx = np.repeat(np.arange(len(orders)), n_lines)
    brand_of_store = dict(zip(stores["store_id"], stores["brand"]))
    brand = orders["store_id"].map(brand_of_store).to_numpy()[order_idx]
    sku_pick = np.empty(order_idx.size, dtype=np.int64)
    for b in np.unique(brand):
        mask = brand == b
        candidates = np.flatnonzero(skus["brand"].to_numpy() == b)
        weights = 1.0 / np.arange(1, candidates.size + 1) ** 0.6
        sku_pick[mask] = rng.choice(candidates, size=mask.sum(), p=weights / weights.sum())
    currency = orders["currency"].to_numpy()[order_idx]
    rate = np.array([CURRENCIES[c] for c in currency])
    base = skus["base_price_usd_cents"].to_numpy()[sku_pick]
    # local list price: converted, rounded to whole units, minus 5 cents
    unit_price = (np.round(base / rate / 100) * 100 - 5).astype(np.int64)
    qty = rng.choice([1, 1, 1, 1, 2, 3], size=order_idx.size).astype(np.int64)
    discounted = rng.random(order_idx.size) < 0.2
    discount = np.where(discounted, np.round(unit_price * qty * 0.10), 0).astype(np.int64)
    return pd.DataFrame({
        "line_item_id": np.arange(13_000_000_000, 13_000_000_000 + order_idx.size, dtype=np.int64),
        "order_id": orders["order_id"].to_numpy()[order_idx],
        "sku": skus["sku"].to_numpy()[sku_pick],
        "title": skus["product_title"].to_numpy()[sku_pick],
        "quantity": qty,
        "unit_price_cents": unit_price,
        "discount_cents": discount,
        "supplier_id": skus["supplier_id"].to_numpy()[sku_pick],
    })


def _sale_transactions(rng: np.random.Generator, orders: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    merch = (lines["unit_price_cents"] * lines["quantity"] - lines["discount_cents"]).groupby(lines["order_id"]).sum()
    total = orders["order_id"].map(merch).to_numpy() + orders["shipping_price_cents"].to_numpy()
    n = len(orders)
    unpaid = rng.random(n) < UNPAID_RATE
    declined_first = (rng.random(n) < DECLINE_BEFORE_SUCCESS_RATE) | unpaid
    created = orders["created_us"].to_numpy()
    fail = pd.DataFrame({
        "order_id": orders["order_id"].to_numpy()[declined_first],
        "kind": "SALE",
        "status": "FAILURE",
        "amount_cents": total[declined_first],
        "currency": orders["currency"].to_numpy()[declined_first],
        "created_us": created[declined_first] + 2_000_000,
        "error_code": "CARD_DECLINED",
    })
    ok = ~unpaid
    success = pd.DataFrame({
        "order_id": orders["order_id"].to_numpy()[ok],
        "kind": "SALE",
        "status": "SUCCESS",
        "amount_cents": total[ok],
        "currency": orders["currency"].to_numpy()[ok],
        "created_us": created[ok] + 5_000_000 + rng.integers(0, 600_000_000, size=ok.sum()),
        "error_code": None,
    })
    return pd.concat([fail, success], ignore_index=True)


def _refunds(rng: np.random.Generator, orders: pd.DataFrame, lines: pd.DataFrame, sales: pd.DataFrame,
             end_us: int, cancel_rng: np.random.Generator,
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Refunds, their lines and REFUND transactions, and the orders cancelled with their refund
    (order_id, cancelled_us, cancel_reason). `cancel_rng` draws only the cancellations, so the rest of the world
    is what it would be without them."""
    paid = sales[sales["status"] == "SUCCESS"].set_index("order_id")["created_us"]
    first_line = lines.groupby("order_id").head(1).set_index("order_id")
    eligible = orders[orders["order_id"].isin(paid.index) & ~orders["test"]]
    # the planted supplier's lines come back defective far more often
    sup = first_line.loc[eligible["order_id"], "supplier_id"].to_numpy()
    p = np.where(sup == PLANTED_DEFECT_SUPPLIER, REFUND_RATE * 2.0, REFUND_RATE)
    picked = eligible[rng.random(len(eligible)) < p]
    # a few orders get a second refund (makes the order-tag rule matter)
    second = picked[rng.random(len(picked)) < 0.08]
    ref_orders = pd.concat([picked, second], ignore_index=True)
    n = len(ref_orders)
    created = paid.loc[ref_orders["order_id"]].to_numpy() + rng.integers(
        86_400_000_000, 45 * 86_400_000_000, size=n
    )
    keep = created <= end_us
    is_second = np.r_[np.zeros(len(picked), dtype=bool), np.ones(len(second), dtype=bool)][keep]
    ref_orders, created = ref_orders[keep].reset_index(drop=True), created[keep]
    n = len(ref_orders)
    codes = np.array([c[0] for c in CAUSES if c[4] > 0])
    weights = np.array([c[4] for c in CAUSES if c[4] > 0])
    sup = first_line.loc[ref_orders["order_id"], "supplier_id"].to_numpy()
    true_cause = rng.choice(codes, size=n, p=weights / weights.sum())
    planted = (sup == PLANTED_DEFECT_SUPPLIER) & (rng.random(n) < 0.5)
    true_cause[planted] = "supplier_defect"
    # a cancelled order is refunded once, whole: orders with a second refund are never cancelled
    order_ids = ref_orders["order_id"].to_numpy()
    refunded_twice = np.isin(order_ids, order_ids[is_second])
    cancel_reason = pd.Series(true_cause).map(CANCEL_REASONS).to_numpy(dtype=object)
    cancelled = pd.notna(cancel_reason) & ~refunded_twice & (cancel_rng.random(n) < CANCEL_SHARE)
    low, high = (np.array([CANCEL_DELAY_HOURS.get(r, (0.0, 0.0))[i] for r in cancel_reason]) for i in (0, 1))
    delay_us = (cancel_rng.uniform(low, high) * 3_600_000_000).astype(np.int64)
    created = np.where(cancelled, paid.loc[order_ids].to_numpy() + delay_us, created)
    prevent_default = {c[0]: c[3] for c in CAUSES}
    true_prev = np.array([prevent_default[c] for c in true_cause])
    # how staff recorded it: note token, order tag only, or nothing
    how = rng.choice(["note", "tag", "none"], size=n, p=[0.62, 0.2, 0.18])
    how[cancelled & (cancel_rng.random(n) < CANCEL_UNRECORDED)] = "none"
    note_cause = np.where(how == "note", true_cause, None)
    tag_cause = np.where(how == "tag", true_cause, None)
    token_written = rng.random(n) < 0.2
    prev_token = np.where(token_written, np.where(true_prev, "yes", "no"), None)
    # a share of tokens contradict the default (ops judged this one differently)
    flip = token_written & (rng.random(n) < 0.3)
    prev_token[flip] = np.where(true_prev[flip], "no", "yes")
    true_prev = np.where(token_written, prev_token == "yes", true_prev)
    filler = rng.choice(NOTE_WORDS, size=n)
    # the note: filler words, `cause:<code>`, `preventable:<x>`, space-separated; None when all are empty
    cause_part = np.where(pd.isna(note_cause), "", "cause:" + pd.Series(note_cause).fillna("").astype(str))
    token_part = np.where(pd.isna(prev_token), "", "preventable:" + pd.Series(prev_token).fillna("").astype(str))
    notes = (pd.Series(filler, dtype=str) + " " + cause_part + " " + token_part).str.replace(
        r" +", " ", regex=True).str.strip()
    notes = notes.where(notes != "", None).to_numpy(dtype=object)
    refund_ids = np.arange(900_000_000, 900_000_000 + n, dtype=np.int64)
    refunds = pd.DataFrame({
        "refund_id": refund_ids,
        "order_id": ref_orders["order_id"].to_numpy(),
        "created_us": created,
        "note": notes,
        "true_cause": true_cause,
        "true_preventable": true_prev.astype(bool),
        "note_cause": note_cause,
        "tag_cause": tag_cause,
        "preventable_token": prev_token,
    })
    fl = first_line.loc[refunds["order_id"]]
    qty = np.ones(n, dtype=np.int64)
    unit_net = (fl["unit_price_cents"].to_numpy() - fl["discount_cents"].to_numpy() / fl["quantity"].to_numpy())
    partial = rng.random(n) < 0.25
    amount = np.where(partial, np.round(unit_net * 0.5), np.round(unit_net)).astype(np.int64)
    rli = pd.DataFrame({
        "refund_id": refund_ids,
        "line_item_id": fl["line_item_id"].to_numpy(),
        "quantity": qty,
        "restock_type": np.where(rng.random(n) < 0.3, "RETURN", "NO_RESTOCK"),
        "subtotal_cents": amount,
    })
    # a cancelled order's refund takes back every line, whole (restock type CANCEL: the goods never left)
    whole = lines[lines["order_id"].isin(order_ids[cancelled])]
    whole_net = (whole["unit_price_cents"] * whole["quantity"] - whole["discount_cents"]).astype(np.int64)
    amount = np.where(cancelled, pd.Series(order_ids).map(whole_net.groupby(whole["order_id"]).sum())
                      .fillna(0).to_numpy().astype(np.int64), amount)
    rli = pd.concat([rli[~cancelled], pd.DataFrame({
        "refund_id": whole["order_id"].map(pd.Series(refund_ids[cancelled], index=order_ids[cancelled])).to_numpy(),
        "line_item_id": whole["line_item_id"].to_numpy(),
        "quantity": whole["quantity"].to_numpy().astype(np.int64),
        "restock_type": "CANCEL",
        "subtotal_cents": whole_net.to_numpy(),
    })], ignore_index=True).sort_values(["refund_id", "line_item_id"], kind="stable", ignore_index=True)
    rli["refund_id"] = rli["refund_id"].astype(np.int64)
    rli.insert(0, "refund_line_item_id", np.arange(11_000_000_000, 11_000_000_000 + len(rli), dtype=np.int64))
    currency = orders.set_index("order_id").loc[refunds["order_id"], "currency"].to_numpy()
    failed_first = rng.random(n) < 0.04
    tx_ok = pd.DataFrame({
        "order_id": refunds["order_id"], "refund_id": refund_ids, "kind": "REFUND", "status": "SUCCESS",
        "amount_cents": amount, "currency": currency, "created_us": created, "error_code": None,
    })
    tx_fail = pd.DataFrame({
        "order_id": refunds["order_id"][failed_first], "refund_id": refund_ids[failed_first], "kind": "REFUND",
        "status": "FAILURE", "amount_cents": amount[failed_first], "currency": currency[failed_first],
        "created_us": created[failed_first] - 60_000_000, "error_code": "GENERIC_ERROR",
    })
    cancels = pd.DataFrame({"order_id": order_ids[cancelled], "cancelled_us": created[cancelled],
                            "cancel_reason": cancel_reason[cancelled]})
    return refunds, rli, pd.concat([tx_fail, tx_ok], ignore_index=True), cancels


def build_world(preset_name: str, seed: int, as_of: datetime = DEFAULT_AS_OF) -> World:
    """Simulate the portfolio for `preset_name`, deterministically from `seed`."""
    if preset_name not in PRESETS:
        raise ValueError(f"unknown preset {preset_name!r}: choose one of {', '.join(PRESETS)}")
    preset = PRESETS[preset_name]
    rng = np.random.default_rng(seed)
    start = (as_of - timedelta(days=preset.days)).replace(hour=0, minute=0, second=0, microsecond=0)
    end = as_of + timedelta(days=HORIZON_DAYS)
    stores = _stores(preset)
    suppliers = pd.DataFrame(SUPPLIERS, columns=["supplier_id", "name", "dispatch_sla_business_days", "cogs_currency"])
    skus = _skus(rng, preset, list(dict.fromkeys(stores["brand"])))
    customers = _customers(rng, preset)
    orders = _orders(rng, preset, stores, customers, start, end)
    lines = _line_items(rng, orders, stores, skus)
    sales = _sale_transactions(rng, orders, lines)
    refunds, rli, refund_tx, cancels = _refunds(rng, orders, lines, sales, int(end.timestamp() * 1e6),
                                                np.random.default_rng([seed, CANCEL_STREAM]))

    # order tags: a loyalty tag now and then, plus the cause tag ops staff wrote
    # (one tag per refund that has one, oldest first: `world_at` shows each once its refund exists)
    tagged = refunds.dropna(subset=["tag_cause"]).sort_values(["order_id", "created_us", "refund_id"])
    tags_of = tagged.groupby("order_id")["tag_cause"].agg(
        lambda causes: [f"refund-cause:{c}" for c in dict.fromkeys(causes)])
    loyal = rng.random(len(orders)) < 0.1
    cause_tags = orders["order_id"].map(tags_of)
    orders["tags"] = [(["vip"] if v else []) + (c if isinstance(c, list) else [])
                      for c, v in zip(cause_tags.to_numpy(dtype=object), loyal, strict=True)]
    orders["note"] = None
    cancelled_us = orders["order_id"].map(cancels.set_index("order_id")["cancelled_us"])
    orders["cancelled_at"] = pd.Series(pd.to_datetime(cancelled_us, unit="us", utc=True).to_numpy(),
                                       index=orders.index, dtype="datetime64[us, UTC]")
    orders["cancel_reason"] = orders["order_id"].map(cancels.set_index("order_id")["cancel_reason"]).astype(object)
    orders["cancel_reason"] = orders["cancel_reason"].where(orders["cancel_reason"].notna(), None)
    last_refund = refunds.groupby("order_id")["created_us"].max()
    updated = np.maximum(orders["created_us"].to_numpy(),
                         orders["order_id"].map(last_refund).fillna(0).to_numpy().astype(np.int64))
    orders["created_at"] = _ts(orders["created_us"].to_numpy())
    orders["processed_at"] = orders["created_at"]
    orders["updated_at"] = _ts(updated)
    orders = orders[["order_id", "store_id", "order_number", "name", "customer_id", "email", "created_at",
                     "processed_at", "updated_at", "currency", "shipping_price_cents", "tags", "note",
                     "cancelled_at", "cancel_reason", "test"]]

    tx = pd.concat([sales.assign(refund_id=pd.NA), refund_tx], ignore_index=True)
    tx = tx.sort_values(["created_us", "order_id"], kind="stable").reset_index(drop=True)
    tx["transaction_id"] = np.arange(20_000_000_000, 20_000_000_000 + len(tx), dtype=np.int64)
    tx["refund_id"] = tx["refund_id"].astype("Int64")
    tx["gateway"] = "shopify_payments"
    tx["created_at"] = _ts(tx["created_us"].to_numpy())
    tx["processed_at"] = tx["created_at"]
    tx["parent_transaction_id"] = pd.array([pd.NA] * len(tx), dtype="Int64")
    tx["payment_id"] = None
    tx = tx[["transaction_id", "order_id", "refund_id", "kind", "status", "gateway", "amount_cents", "currency",
             "created_at", "processed_at", "parent_transaction_id", "payment_id", "error_code"]]

    refunds["created_at"] = _ts(refunds["created_us"].to_numpy())
    refunds["updated_at"] = refunds["created_at"]
    refunds = refunds[["refund_id", "order_id", "created_at", "updated_at", "note", "true_cause",
                       "true_preventable", "note_cause", "tag_cause", "preventable_token"]]
    lines = lines.drop(columns=["supplier_id"])
    meta = {
        "preset": preset_name,
        "seed": seed,
        "start_date": start.date().isoformat(),
        "as_of": as_of.isoformat().replace("+00:00", "Z"),
        "horizon_end": end.isoformat().replace("+00:00", "Z"),
        "reporting_currency": "USD",
        "defects": [],
    }
    world = World(stores=stores, suppliers=suppliers.drop(columns=["cogs_currency"]),
                  skus=skus.drop(columns=["brand"]), customers=customers, orders=orders, line_items=lines,
                  transactions=tx, refunds=refunds, refund_line_items=rli, meta=meta)
    for area in AREAS:
        # each area has its own RNG stream, so adding one never changes the others
        world.areas[area] = area_module(area).simulate(seed, world)
    _link_stripe_payments(world)
    _write_approvals(world)
    return world


def _write_approvals(world: World) -> None:
    """Escalations written into the Shopify refund note (`approved_by:<staff>`), as ops staff type them."""
    leaks = world.areas.get("leaks")
    if leaks is None:
        return
    from sandbox.world.leaks import refund_note_tokens

    token = world.refunds["refund_id"].map(refund_note_tokens(leaks))
    has = token.notna()
    note = world.refunds["note"]
    world.refunds.loc[has, "note"] = [
        f"{n} approved_by:{t}" if isinstance(n, str) else f"approved_by:{t}" for n, t in zip(note[has], token[has])
    ]


def _link_stripe_payments(world: World) -> None:
    """Shopify transactions paid through Stripe carry the charge/refund id (gateway `stripe`), as in real shops."""
    links = world.areas.get("payments", {}).get("shopify_payment_links")
    if links is None:
        return
    payment_id = world.transactions["transaction_id"].map(links.set_index("transaction_id")["payment_id"])
    linked = payment_id.notna()
    world.transactions.loc[linked, "gateway"] = "stripe"
    world.transactions["payment_id"] = payment_id.where(linked, None).astype(object)


def write_world(world: World, world_dir: Path) -> Path:
    """Write every table as parquet (deterministic bytes for the same world) and meta.json."""
    world_dir.mkdir(parents=True, exist_ok=True)
    for name, df in world.tables().items():
        df.to_parquet(world_dir / f"{name}.parquet", index=False, compression="zstd")
    for area, tables in world.areas.items():
        (world_dir / area).mkdir(exist_ok=True)
        for name, df in tables.items():
            if not name.startswith(SHEET_PREFIX):
                df.to_parquet(world_dir / area / f"{name}.parquet", index=False, compression="zstd")
    return write_meta(world, world_dir)


def write_meta(world: World, world_dir: Path) -> Path:
    """meta.json is written last and atomically: emulators reload the world when it changes."""
    tmp = world_dir / ".meta.json.tmp"
    tmp.write_text(json.dumps(world.meta, indent=2, sort_keys=True) + "\n")
    tmp.replace(world_dir / "meta.json")
    return world_dir


def generate_world(preset: str, seed: int, out_dir: Path) -> Path:
    """Simulate and write the world only (no sheets, no ground truth); returns the world dir."""
    return write_world(build_world(preset, seed), Path(out_dir) / "world")
