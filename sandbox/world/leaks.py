"""Returns, replacement orders, store credit, approvals, shipping labels and recoveries (see leaks.md).

`simulate(seed, world)` reads the full-horizon base world and the areas simulated before it (support, fulfilment,
payments) and returns this area's tables; `at_clock(tables, as_of)` gives their state at a clock. Own generator
`default_rng([seed, 404])`, so adding the area never changes the base world or another area's tables (the only
change to a base table is the escalation token `approved_by:<staff>` appended to some refund notes, applied by
`generate.build_world` through `refund_note_tokens`). Vectorised: loops run over stores or brands, never orders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sandbox.world import World
from sandbox.world.presets import CURRENCIES, PLANTED_DEFECT_SUPPLIER

RNG_STREAM = 404
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
LABEL_PROVIDER = "ShipStation"
RETURN_SHARE = 0.75  # refunds of a returnable cause that come through a return
EXCHANGE_RATE = 0.012  # delivered orders exchanged (size/colour/style) through a return
RESHIP_LOST_SHARE = 0.6  # lost / silent parcels reshipped for free
REPLACE_DAMAGED_SHARE = 0.5
DEFECT_REPLACEMENT_RATE = {"planted": 0.035, "other": 0.005}
LATE_CREDIT_RATE = 0.3  # late-dispatched orders that get goodwill store credit
LATE_CREDIT_SHARE = (0.15, 0.3)  # of the order's merchandise value
PARCEL_CREDIT_SHARE = 0.7  # lost / damaged parcels not resent: full-value store credit
GOODWILL_RATE = {"planted": 0.45, "other": 0.04}  # issue tickets closed with goodwill store credit
SUPPLIER_CREDIT_SHARE = 0.4
ESCALATION_RECORDED_SHARE = 0.75  # over-limit refunds that carry an approval
DEVIATION_ESCALATED_SHARE = 0.3  # off-first-choice resolutions that carry an escalation anyway

# Shopify ReturnReason values per true cause (first listed is the usual one)
RETURN_REASONS: dict[str, list[str]] = {
    "supplier_defect": ["DEFECTIVE"],
    "wrong_item": ["WRONG_ITEM"],
    "not_as_described": ["NOT_AS_DESCRIBED"],
    "size_fit": ["SIZE_TOO_SMALL", "SIZE_TOO_LARGE"],
    "changed_mind": ["UNWANTED", "STYLE", "COLOR"],
}
MERCHANT_FAULT = {"supplier_defect", "wrong_item", "not_as_described"}
# returns provider per store position (a portfolio mixes the native flow and two apps)
PROVIDERS = ["shopify", "loop", "aftership-returns"]
PROVIDER_DAYS = {"shopify": (4.0, 14.0), "loop": (2.0, 8.0), "aftership-returns": (3.0, 11.0)}

# approvers: support agents (from the support area) + one ops lead per brand + the finance head
AGENT_LIMIT_USD = 250
OPS_LIMIT_USD = 1_500
FINANCE = ("Alex Morgan", "finance", 100_000)

# refund_decision_matrix: cause -> [(band, first_choice, allowed)], bands by order value (reporting currency)
VALUE_BANDS = [("low", 0, 50), ("mid", 50, 200), ("high", 200, None)]
_M = {
    "supplier_defect": ("replacement", "replacement;store_credit;cash_refund",
                        "replacement;partial_refund;cash_refund"),
    "wrong_item": ("replacement", "replacement;cash_refund", "replacement;cash_refund"),
    "not_as_described": ("store_credit", "store_credit;partial_refund;cash_refund", "partial_refund;cash_refund"),
    "size_fit": ("replacement", "replacement;store_credit;cash_refund", "replacement;store_credit;cash_refund"),
    "changed_mind": ("store_credit", "store_credit;cash_refund", "store_credit;cash_refund"),
    "damaged_in_transit": ("replacement", "replacement;reship_free;cash_refund;partial_refund",
                           "replacement;reship_free;cash_refund;partial_refund"),
    "lost_in_transit": ("reship_free", "reship_free;cash_refund", "reship_free;cash_refund"),
    "late_delivery": ("store_credit", "store_credit;partial_refund", "store_credit;partial_refund;cash_refund"),
    "out_of_stock": ("cash_refund", "cash_refund;store_credit", "cash_refund;store_credit"),
    "fraud": ("cash_refund", "cash_refund", "cash_refund"),
    "duplicate_charge": ("cash_refund", "cash_refund", "cash_refund"),
    "refund_process_failure": ("cash_refund", "cash_refund;store_credit", "cash_refund;store_credit"),
    "unknown": ("store_credit", "store_credit;cash_refund;partial_refund", "store_credit;partial_refund;cash_refund"),
}


def decision_matrix() -> pd.DataFrame:
    """`refund_decision_matrix.csv`: cause × order value band → first_choice, allowed (`;`-separated)."""
    rows = []
    for cause, (first, allowed_low, allowed_high) in _M.items():
        for band, lo, hi in VALUE_BANDS:
            high_first = "partial_refund" if cause == "not_as_described" and band != "low" else first
            allowed = allowed_high if band == "high" else allowed_low
            if high_first not in allowed.split(";"):
                allowed = f"{high_first};{allowed}"
            rows.append((cause, band, f"{lo}.00", "" if hi is None else f"{hi}.00", high_first, allowed))
    return pd.DataFrame(rows, columns=["cause", "value_band", "min_order_value", "max_order_value", "first_choice",
                                       "allowed"])


def _handle(name: pd.Series | np.ndarray) -> np.ndarray:
    return pd.Series(name).str.lower().str.replace(" ", "-", regex=False).to_numpy()


def approvers(world: World) -> pd.DataFrame:
    """Everyone who issues refunds or credit: the brand's support agents, an ops lead per brand, finance."""
    staff = world.areas["support"]["staff"]
    agents = staff[staff["role"] == "agent"][["brand", "name"]].assign(role="agent", max_usd=AGENT_LIMIT_USD)
    brands = list(dict.fromkeys(world.stores["brand"]))
    leads = pd.DataFrame({"brand": brands, "name": [f"{b} Ops Lead" for b in brands], "role": "ops_lead",
                          "max_usd": OPS_LIMIT_USD})
    fin = pd.DataFrame({"brand": [None], "name": [FINANCE[0]], "role": [FINANCE[1]], "max_usd": [FINANCE[2]]})
    frame = pd.concat([agents, leads, fin], ignore_index=True)
    frame.insert(0, "staff", _handle(frame["name"]))
    return frame.reset_index(drop=True)


def approval_limits_sheet(staff: pd.DataFrame, currency: str) -> pd.DataFrame:
    """`approval_limits.csv`: staff → max amount in the reporting currency."""
    return pd.DataFrame({"staff": staff["staff"], "name": staff["name"], "role": staff["role"],
                         "max_amount": staff["max_usd"].map(lambda v: f"{int(v)}.00"), "currency": currency})


# ------------------------------------------------------------------------------------------------ helpers


def _ts(us: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(us, dtype=np.int64), unit="us", utc=True)


def _us(series: pd.Series) -> np.ndarray:
    return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)


def _usd(cents: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Approximate USD cents at the base rates (used only to decide who may approve; truth uses the FX sheet)."""
    return np.asarray(cents, dtype=float) * np.array([CURRENCIES[c] for c in currency])


def _order_frame(world: World) -> pd.DataFrame:
    """Orders with store, brand, market, paid time, first line (sku, supplier, unit net price) and merch value."""
    tx = world.transactions
    ok = tx["kind"].isin(["SALE", "CAPTURE"]) & (tx["status"] == "SUCCESS")
    paid = tx[ok].groupby("order_id")["created_at"].min()
    orders = world.orders[["order_id", "store_id", "name", "customer_id", "email", "currency", "test"]].merge(
        world.stores[["store_id", "brand", "market"]], on="store_id")
    orders["paid_us"] = orders["order_id"].map(paid)
    orders = orders[orders["paid_us"].notna() & ~orders["test"]].copy()
    orders["paid_us"] = _us(orders["paid_us"])
    lines = world.line_items.merge(world.skus[["sku", "supplier_id", "unit_cogs_cents", "cogs_currency"]], on="sku")
    lines["net"] = lines["unit_price_cents"] * lines["quantity"] - lines["discount_cents"]
    first = lines.groupby("order_id").head(1).set_index("order_id")
    orders["merch_cents"] = orders["order_id"].map(lines.groupby("order_id")["net"].sum()).astype(np.int64)
    for col in ("line_item_id", "sku", "title", "supplier_id"):
        orders[col] = orders["order_id"].map(first[col])
    orders["unit_net"] = orders["order_id"].map(first["net"] / first["quantity"])
    return orders.reset_index(drop=True)


def _label_costs(world: World) -> pd.DataFrame:
    """market → (cheapest service slug, service, label cost cents, currency): what returns and reships use."""
    carriers = world.areas["fulfilment"]["carriers"].sort_values(["market", "label_cost_cents"], kind="stable")
    return carriers.groupby("market").head(1).set_index("market")[["slug", "service", "label_cost_cents",
                                                                     "currency"]]


def _conversation_of_order(world: World) -> pd.DataFrame:
    """Earliest issue conversation per order: slug, assignee, created time."""
    conv = world.areas["support"]["conversations"]
    conv = conv[(conv["kind"] == "issue") & conv["order_id"].notna()].sort_values(["created_at", "slug"])
    first = conv.groupby("order_id").head(1)
    return pd.DataFrame({"order_id": first["order_id"].astype(np.int64).to_numpy(), "slug": first["slug"].to_numpy(),
                         "assignee_staff_id": first["assignee_staff_id"].to_numpy(),
                         "conv_us": _us(first["created_at"])})


# ------------------------------------------------------------------------------------------------ returns


def _returns_for_refunds(rng: np.random.Generator, world: World, orders: pd.DataFrame,
                         providers: dict[str, str]) -> pd.DataFrame:
    """A return behind most refunds of a returnable cause: requested, received, closed by the refund."""
    refunds = world.refunds.merge(orders[["order_id", "store_id", "paid_us"]], on="order_id")
    refunds = refunds[refunds["true_cause"].isin(list(RETURN_REASONS))]
    refunds = refunds[rng.random(len(refunds)) < RETURN_SHARE].reset_index(drop=True)
    n = len(refunds)
    rli = world.refund_line_items.drop_duplicates("refund_id").set_index("refund_id")
    provider = refunds["store_id"].map(providers).to_numpy()
    lo = np.array([PROVIDER_DAYS[p][0] for p in provider])
    hi = np.array([PROVIDER_DAYS[p][1] for p in provider])
    refund_us = _us(refunds["created_at"])
    cycle = (lo + (hi - lo) * rng.random(n)) * DAY_US
    requested = np.maximum(refund_us - cycle.astype(np.int64), refunds["paid_us"].to_numpy() + DAY_US // 2)
    received = refund_us - ((refund_us - requested) * rng.uniform(0.05, 0.3, n)).astype(np.int64)
    return pd.DataFrame({
        "order_id": refunds["order_id"].to_numpy(), "store_id": refunds["store_id"].to_numpy(),
        "line_item_id": refunds["refund_id"].map(rli["line_item_id"]).to_numpy(),
        "true_cause": refunds["true_cause"].to_numpy(), "requested_us": requested, "received_us": received,
        "closed_us": refund_us + rng.integers(60_000_000, 3_600_000_000, n),
        "refund_id": refunds["refund_id"].to_numpy(), "outcome": "refund", "provider": provider,
    })


def _exchange_returns(rng: np.random.Generator, orders: pd.DataFrame, delivered: pd.Series,
                      providers: dict[str, str]) -> pd.DataFrame:
    """Size / style exchanges of delivered orders: a return closed by a zero-price replacement order."""
    cand = orders[orders["order_id"].isin(delivered.index)]
    cand = cand[rng.random(len(cand)) < EXCHANGE_RATE].reset_index(drop=True)
    n = len(cand)
    provider = cand["store_id"].map(providers).to_numpy()
    lo = np.array([PROVIDER_DAYS[p][0] for p in provider])
    hi = np.array([PROVIDER_DAYS[p][1] for p in provider])
    requested = cand["order_id"].map(delivered).to_numpy() + rng.integers(DAY_US, 20 * DAY_US, n)
    cycle = ((lo + (hi - lo) * rng.random(n)) * DAY_US).astype(np.int64)
    received = requested + (cycle * rng.uniform(0.6, 0.9, n)).astype(np.int64)
    return pd.DataFrame({
        "order_id": cand["order_id"].to_numpy(), "store_id": cand["store_id"].to_numpy(),
        "line_item_id": cand["line_item_id"].to_numpy(),
        "true_cause": np.where(rng.random(n) < 0.6, "size_fit", "changed_mind"),
        "requested_us": requested, "received_us": received, "closed_us": requested + cycle,
        "refund_id": pd.array([pd.NA] * n, dtype="Int64"), "outcome": "exchange", "provider": provider,
    })


def _finish_returns(rng: np.random.Generator, raw: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Ids, names, reasons (some OTHER: no inference), who pays the label, sorted by request time."""
    raw = raw.sort_values(["requested_us", "order_id"], kind="stable").reset_index(drop=True)
    n = len(raw)
    reason = np.empty(n, dtype=object)
    for cause, options in RETURN_REASONS.items():
        mask = (raw["true_cause"] == cause).to_numpy()
        reason[mask] = rng.choice(options, size=mask.sum())
    reason[rng.random(n) < 0.12] = "OTHER"
    names = orders.set_index("order_id")["name"]
    seq = raw.groupby("order_id").cumcount() + 1
    merchant_pays = raw["true_cause"].isin(list(MERCHANT_FAULT)).to_numpy() | (rng.random(n) < 0.3)
    return pd.DataFrame({
        "return_id": np.arange(40_000_000_000, 40_000_000_000 + n, dtype=np.int64),
        "order_id": raw["order_id"].to_numpy(), "store_id": raw["store_id"].to_numpy(),
        "name": (raw["order_id"].map(names) + "-R" + seq.astype(str)).to_numpy(),
        "return_reason": reason, "customer_note": None,
        "requested_at": _ts(raw["requested_us"]), "approved_at": _ts(raw["requested_us"] + rng.integers(
            600_000_000, DAY_US, n)),
        "received_at": _ts(raw["received_us"]), "closed_at": _ts(raw["closed_us"]),
        "outcome": raw["outcome"].to_numpy(), "refund_id": raw["refund_id"].astype("Int64").to_numpy(),
        "returns_provider": raw["provider"].to_numpy(), "merchant_paid_label": merchant_pays,
        "line_item_id": raw["line_item_id"].astype(np.int64).to_numpy(), "quantity": np.ones(n, dtype=np.int64),
        "true_cause": raw["true_cause"].to_numpy(),
    })


# ------------------------------------------------------------------------------------------------ replacements


def _parcel_outcomes(world: World) -> tuple[pd.DataFrame, pd.Series]:
    """(lost/damaged parcels with the time ops learn it, first delivery time per order in µs)."""
    ful = world.areas["fulfilment"]
    tr = ful["trackings"]
    cp = ful["checkpoints"]
    exc = cp[cp["subtag"].isin(["Exception_012", "Exception_013"])].groupby("tracking_id")["checkpoint_time"].min()
    bad = tr[tr["true_outcome"].isin(["lost", "silent", "damaged"])].copy()
    known = bad["tracking_id"].map(exc)
    silent_known = bad["shipment_pickup_date"] + pd.Timedelta(days=10)
    bad["known_us"] = _us(known.where(known.notna(), silent_known).fillna(bad["created_at"]))
    delivered = tr.dropna(subset=["shipment_delivery_date"]).groupby("order_id")["shipment_delivery_date"].min()
    return bad, pd.Series(_us(delivered), index=delivered.index)


def _replacements(rng: np.random.Generator, world: World, orders: pd.DataFrame, bad: pd.DataFrame,
                  delivered: pd.Series, exchanges: pd.DataFrame) -> pd.DataFrame:
    """Raw replacement orders: reships of lost parcels, replacements of damaged or defective items, exchanges."""
    o = orders.set_index("order_id")
    lost = bad[bad["true_outcome"].isin(["lost", "silent"])]
    lost = lost[rng.random(len(lost)) < RESHIP_LOST_SHARE]
    damaged = bad[bad["true_outcome"] == "damaged"]
    damaged = damaged[rng.random(len(damaged)) < REPLACE_DAMAGED_SHARE]
    defect_p = np.where(orders["supplier_id"] == PLANTED_DEFECT_SUPPLIER, DEFECT_REPLACEMENT_RATE["planted"],
                        DEFECT_REPLACEMENT_RATE["other"])
    defect = orders[orders["order_id"].isin(delivered.index) & (rng.random(len(orders)) < defect_p)]
    parts = [
        pd.DataFrame({"original_order_id": lost["order_id"].to_numpy(), "kind": "reship_free",
                      "true_cause": "lost_in_transit",
                      "created_us": lost["known_us"].to_numpy() + rng.integers(HOUR_US, 3 * DAY_US, len(lost))}),
        pd.DataFrame({"original_order_id": damaged["order_id"].to_numpy(), "kind": "replacement",
                      "true_cause": "damaged_in_transit",
                      "created_us": damaged["known_us"].to_numpy() + rng.integers(HOUR_US, 4 * DAY_US,
                                                                                  len(damaged))}),
        pd.DataFrame({"original_order_id": defect["order_id"].to_numpy(), "kind": "replacement",
                      "true_cause": "supplier_defect",
                      "created_us": defect["order_id"].map(delivered).to_numpy()
                      + rng.integers(2 * DAY_US, 25 * DAY_US, len(defect))}),
        pd.DataFrame({"original_order_id": exchanges["order_id"].to_numpy(), "kind": "exchange",
                      "true_cause": exchanges["true_cause"].to_numpy(),
                      "created_us": _us(exchanges["closed_at"]) - rng.integers(60_000_000, HOUR_US,
                                                                               len(exchanges)),
                      "return_id": exchanges["return_id"].to_numpy()}),
    ]
    raw = pd.concat(parts, ignore_index=True)
    raw["return_id"] = raw["return_id"].astype("Int64")
    raw["store_id"] = raw["original_order_id"].map(o["store_id"])
    return raw.sort_values(["created_us", "original_order_id"], kind="stable").reset_index(drop=True)


def _replacement_orders(rng: np.random.Generator, raw: pd.DataFrame, orders: pd.DataFrame,
                        world: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shopify-shaped zero-price orders tagged `replacement-for:<name>` and their line items."""
    n = len(raw)
    o = orders.set_index("order_id")
    orig = raw["original_order_id"]
    number = raw.groupby("store_id").cumcount().to_numpy() + 900_001
    tags = [[f"replacement-for:{name}"] + (["reship"] if kind == "reship_free" else [])
            + (["exchange"] if kind == "exchange" else [])
            for name, kind in zip(orig.map(o["name"]), raw["kind"])]
    how = rng.choice(["note", "none"], size=n, p=[0.45, 0.55])
    note_cause = np.where(how == "note", raw["true_cause"].to_numpy(), None)
    order_ids = np.arange(5_900_000_000, 5_900_000_000 + n, dtype=np.int64)
    created = _ts(raw["created_us"])
    rep = pd.DataFrame({
        "order_id": order_ids, "store_id": raw["store_id"].to_numpy(), "order_number": number.astype(np.int64),
        "name": ["#" + str(x) for x in number], "customer_id": orig.map(o["customer_id"]).to_numpy(),
        "email": orig.map(o["email"]).to_numpy(), "created_at": created, "processed_at": created,
        "updated_at": created, "currency": orig.map(o["currency"]).to_numpy(), "shipping_price_cents": 0,
        "tags": tags, "note": None, "cancelled_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]"),
        "cancel_reason": None, "test": False,
        "original_order_id": orig.to_numpy(), "return_id": raw["return_id"].to_numpy(),
        "resolution": np.where(raw["kind"] == "reship_free", "reship_free", "replacement"),
        "true_cause": raw["true_cause"].to_numpy(), "note_cause": note_cause,
    })
    # exchanges swap to another SKU of the brand sometimes; everything else resends the same item
    sku = orig.map(o["sku"]).to_numpy().astype(object)
    title = orig.map(o["title"]).to_numpy().astype(object)
    lines = pd.DataFrame({
        "line_item_id": np.arange(13_900_000_000, 13_900_000_000 + n, dtype=np.int64), "order_id": order_ids,
        "sku": sku, "title": title, "quantity": np.ones(n, dtype=np.int64),
        "unit_price_cents": np.zeros(n, dtype=np.int64), "discount_cents": np.zeros(n, dtype=np.int64),
    })
    return rep, lines


# ------------------------------------------------------------------------------------------------ store credit


def _store_credit(rng: np.random.Generator, world: World, orders: pd.DataFrame, conv: pd.DataFrame,
                  staff: pd.DataFrame, unreplaced: pd.DataFrame) -> pd.DataFrame:
    """Store credit: full value for lost/damaged parcels not resent, goodwill for late dispatch (the slow store has
    most) and agents closing tickets with credit (the planted agent far more often, and more generously)."""
    fl = world.areas["fulfilment"]["fulfillments"]
    first_ship = fl.groupby("order_id")["created_at"].min()
    o = orders[orders["order_id"].isin(first_ship.index)].copy()
    delay = (_us(o["order_id"].map(first_ship)) - o["paid_us"].to_numpy()) / DAY_US
    late = o[(delay >= 3.5) & (rng.random(len(o)) < LATE_CREDIT_RATE)]
    late_us = _us(late["order_id"].map(first_ship)) + rng.integers(2 * DAY_US, 8 * DAY_US, len(late))

    sup_staff = world.areas["support"]["staff"].set_index("staff_id")
    conv = conv.merge(orders[["order_id", "merch_cents"]], on="order_id")
    assignee = conv["assignee_staff_id"].map(sup_staff["name"])
    planted = assignee.isin(_planted_agents(world)).to_numpy()
    p = np.where(planted, GOODWILL_RATE["planted"], GOODWILL_RATE["other"])
    picked = rng.random(len(conv)) < p
    good, planted_good = conv[picked], planted[picked]
    true_cause = good["order_id"].map(world.refunds.groupby("order_id")["true_cause"].first())
    conv_causes = world.areas["support"]["conversations"].set_index("slug")["true_cause"]
    true_cause = true_cause.fillna(good["slug"].map(conv_causes)).fillna("changed_mind")
    parts = [
        pd.DataFrame({"order_id": late["order_id"].to_numpy(), "created_us": late_us, "true_cause": "late_delivery",
                      "share": rng.uniform(*LATE_CREDIT_SHARE, len(late)), "issued_by": None}),
        pd.DataFrame({"order_id": good["order_id"].to_numpy(),
                      "created_us": good["conv_us"].to_numpy() + rng.integers(HOUR_US, 3 * DAY_US, len(good)),
                      "true_cause": true_cause.to_numpy(),
                      "share": np.where(planted_good, rng.uniform(0.4, 0.7, len(good)),
                                        rng.uniform(0.15, 0.3, len(good))),
                      "issued_by": _handle(assignee[picked])}),
    ]
    lost = unreplaced[rng.random(len(unreplaced)) < PARCEL_CREDIT_SHARE]
    parts.append(pd.DataFrame({
        "order_id": lost["order_id"].to_numpy(),
        "created_us": lost["known_us"].to_numpy() + rng.integers(HOUR_US, 4 * DAY_US, len(lost)),
        "true_cause": np.where(lost["true_outcome"] == "damaged", "damaged_in_transit", "lost_in_transit"),
        "share": np.ones(len(lost)), "issued_by": None}))
    raw = pd.concat(parts, ignore_index=True).merge(
        orders[["order_id", "store_id", "brand", "customer_id", "currency", "merch_cents"]], on="order_id")
    # late-dispatch credit is issued by the brand's ops lead
    lead = raw["brand"].map(staff[staff["role"] == "ops_lead"].set_index("brand")["staff"])
    raw["issued_by"] = raw["issued_by"].fillna(lead)
    raw = raw.sort_values(["created_us", "order_id"], kind="stable").reset_index(drop=True)
    n = len(raw)
    amount = (np.round(raw["merch_cents"].to_numpy() * raw["share"].to_numpy() / 100) * 100).astype(np.int64)
    how = rng.choice(["note", "none"], size=n, p=[0.5, 0.5])
    return pd.DataFrame({
        "store_credit_transaction_id": np.arange(41_000_000_000, 41_000_000_000 + n, dtype=np.int64),
        "store_credit_account_id": raw["customer_id"].to_numpy() + 1_000_000_000,
        "store_id": raw["store_id"].to_numpy(), "customer_id": raw["customer_id"].to_numpy(),
        "order_id": raw["order_id"].to_numpy(), "amount_cents": np.maximum(amount, 100),
        "currency": raw["currency"].to_numpy(), "created_at": _ts(raw["created_us"]),
        "expires_at": _ts(raw["created_us"].to_numpy() + 365 * DAY_US), "issued_by": raw["issued_by"].to_numpy(),
        "note_cause": np.where(how == "note", raw["true_cause"].to_numpy(), None),
        "true_cause": raw["true_cause"].to_numpy(),
    })


def _planted_agents(world: World) -> list[str]:
    staff = world.areas["support"]["staff"]
    return staff.loc[staff["skips_templates"].astype(bool), "name"].tolist()


# ------------------------------------------------------------------------------------------------ approvals


def _refund_staff(rng: np.random.Generator, world: World, orders: pd.DataFrame, conv: pd.DataFrame,
                  staff: pd.DataFrame, replacements: pd.DataFrame, credits: pd.DataFrame) -> tuple[pd.DataFrame,
                                                                                                  pd.DataFrame]:
    """Who issued each refund (Shopify `Refund.staffMember`) and the escalations written for it.

    Returns (refund_staff, escalations). Escalations are `approved_by:<staff>` tokens: written into the refund
    note (applied to the base table by `build_world`), the replacement order / store-credit note, or an internal
    Re:amaze note on the order's conversation.
    """
    refunds = world.refunds.merge(orders[["order_id", "brand", "store_id", "merch_cents"]], on="order_id")
    tx = world.transactions
    cash = tx[(tx["kind"] == "REFUND") & (tx["status"] == "SUCCESS")].groupby("refund_id")[["amount_cents"]].sum()
    refunds["cash"] = refunds["refund_id"].map(cash["amount_cents"]).fillna(0).to_numpy()
    refunds["currency"] = refunds["order_id"].map(orders.set_index("order_id")["currency"])
    sup_staff = world.areas["support"]["staff"].set_index("staff_id")
    by_order = conv.set_index("order_id")
    assignee = refunds["order_id"].map(by_order["assignee_staff_id"]).map(sup_staff["name"])
    agents = staff[staff["role"] == "agent"]
    lead_of = staff[staff["role"] == "ops_lead"].set_index("brand")["staff"]
    n = len(refunds)
    issuer = np.empty(n, dtype=object)
    for brand, group in agents.groupby("brand"):
        mask = (refunds["brand"] == brand).to_numpy()
        issuer[mask] = rng.choice(group["staff"].to_numpy(), size=mask.sum())
    by_lead = rng.random(n) < 0.25
    issuer[by_lead] = refunds.loc[by_lead, "brand"].map(lead_of).to_numpy()
    has_conv = assignee.notna().to_numpy()
    issuer[has_conv] = _handle(assignee[has_conv])
    refund_staff = pd.DataFrame({"refund_id": refunds["refund_id"].to_numpy(), "staff": issuer})

    limit = staff.set_index("staff")["max_usd"] * 100
    events = pd.concat([
        pd.DataFrame({"kind": "refund", "id": refunds["refund_id"], "order_id": refunds["order_id"],
                      "staff": issuer, "usd": _usd(refunds["cash"], refunds["currency"]),
                      "deviates": refunds["true_cause"].isin(["changed_mind", "size_fit", "late_delivery",
                                                              "not_as_described"])}),
        pd.DataFrame({"kind": "store_credit", "id": credits["store_credit_transaction_id"],
                      "order_id": credits["order_id"], "staff": credits["issued_by"],
                      "usd": _usd(credits["amount_cents"], credits["currency"]), "deviates": False}),
        pd.DataFrame({"kind": "replacement", "id": replacements["order_id"],
                      "order_id": replacements["original_order_id"], "staff": None, "usd": 0.0,
                      "deviates": replacements["true_cause"].isin(["changed_mind", "late_delivery"])}),
    ], ignore_index=True)
    m = len(events)
    over = events["usd"].to_numpy() > events["staff"].map(limit).fillna(np.inf).to_numpy()
    escalate = (over & (rng.random(m) < ESCALATION_RECORDED_SHARE)) | (
        events["deviates"].to_numpy() & (rng.random(m) < DEVIATION_ESCALATED_SHARE))
    esc = events[escalate].copy()
    # the approver: finance for big amounts, the brand's ops lead otherwise; 5 % by a peer who may not cover it
    brand = esc["order_id"].map(orders.set_index("order_id")["brand"])
    approver = np.where(esc["usd"].to_numpy() > OPS_LIMIT_USD * 100, _handle(pd.Series([FINANCE[0]]))[0],
                        brand.map(lead_of).to_numpy())
    peer = rng.random(len(esc)) < 0.05
    if peer.any():
        approver[peer] = rng.choice(agents["staff"].to_numpy(), size=peer.sum())
    esc["approved_by"] = approver
    has_conversation = esc["order_id"].isin(conv["order_id"]).to_numpy()
    esc["channel"] = np.where(has_conversation & (rng.random(len(esc)) < 0.3), "reamaze_internal_note", "note")
    esc["conversation_slug"] = esc["order_id"].map(by_order["slug"]).where(esc["channel"] == "reamaze_internal_note")
    return refund_staff, esc[["kind", "id", "order_id", "approved_by", "channel", "conversation_slug"]].reset_index(
        drop=True)


def _internal_notes(rng: np.random.Generator, world: World, esc: pd.DataFrame, staff: pd.DataFrame,
                    event_times: pd.Series) -> pd.DataFrame:
    """Re:amaze internal notes (visibility 1) that record an approval, shaped like support `messages` rows."""
    notes = esc[esc["channel"] == "reamaze_internal_note"].reset_index(drop=True)
    sup = world.areas["support"]["staff"]
    conv = world.areas["support"]["conversations"].set_index("slug")
    name_of = staff.set_index("staff")["name"]
    user = notes["approved_by"].map(name_of)
    brand = notes["conversation_slug"].map(conv["brand"])
    sup_key = sup.set_index(["brand", "name"])
    keys = list(zip(brand, user))
    staff_id = [sup_key["staff_id"].get(k, pd.NA) for k in keys]
    created = event_times.loc[list(zip(notes["kind"], notes["id"]))].to_numpy() - rng.integers(
        600_000_000, 6 * HOUR_US, len(notes))
    # a note cannot predate its conversation: an event soon after the conversation opened gets its approval
    # written a minute after the conversation's first message
    opened = _us(notes["conversation_slug"].map(conv["created_at"]))
    created = np.maximum(created, opened + 60_000_000)
    return pd.DataFrame({
        "message_id": np.arange(92_000_000_000, 92_000_000_000 + len(notes), dtype=np.int64),
        "conversation_slug": notes["conversation_slug"].to_numpy(), "brand": brand.to_numpy(),
        "created_at": _ts(created), "visibility": np.ones(len(notes), dtype=np.int64),
        "body": ("Approved over the agent's limit. approved_by:" + notes["approved_by"]).to_numpy(),
        "user_staff_id": pd.array(staff_id, dtype="Int64"), "user_name": user.to_numpy(),
        "user_email": None, "user_is_staff": True, "origin_id": pd.array([pd.NA] * len(notes), dtype="Int64"),
        "automated": False,
    })


# ------------------------------------------------------------------------------------------------ labels, recoveries


def _labels(rng: np.random.Generator, world: World, orders: pd.DataFrame, returns: pd.DataFrame,
            rep: pd.DataFrame) -> pd.DataFrame:
    """The label provider's shipment export: outbound labels of fulfilments and replacements, paid return labels."""
    fl = world.areas["fulfilment"]["fulfillments"]
    name = orders.set_index("order_id")["name"]
    store = orders.set_index("order_id")["store_id"]
    market = world.stores.set_index("store_id")["market"]
    cheapest = _label_costs(world)
    outbound = pd.DataFrame({
        "order_id": fl["order_id"].to_numpy(), "order_name": fl["order_id"].map(name).to_numpy(),
        "store_id": fl["order_id"].map(store).to_numpy(), "created_at": fl["created_at"].to_numpy(),
        "direction": "outbound", "carrier": fl["tracking_company"].to_numpy(), "service": fl["service"].to_numpy(),
        "tracking_number": fl["tracking_number"].to_numpy(), "cost_cents": fl["label_cost_cents"].to_numpy(),
        "currency": fl["label_currency"].to_numpy(),
    })
    rep_market = rep["store_id"].map(market)
    rep_created = rep["created_at"] + pd.to_timedelta(rng.integers(HOUR_US, 2 * DAY_US, len(rep)), unit="us")
    replacement = pd.DataFrame({
        "order_id": rep["order_id"].to_numpy(), "order_name": rep["name"].to_numpy(),
        "store_id": rep["store_id"].to_numpy(), "created_at": rep_created.to_numpy(), "direction": "outbound",
        "carrier": rep_market.map(cheapest["slug"]).to_numpy(),
        "service": rep_market.map(cheapest["service"]).to_numpy(),
        "tracking_number": None, "cost_cents": rep_market.map(cheapest["label_cost_cents"]).to_numpy(),
        "currency": rep_market.map(cheapest["currency"]).to_numpy(),
    })
    paid = returns[returns["merchant_paid_label"]]
    ret_market = paid["store_id"].map(market)
    ret = pd.DataFrame({
        "order_id": paid["order_id"].to_numpy(), "order_name": paid["order_id"].map(name).to_numpy(),
        "store_id": paid["store_id"].to_numpy(),
        "created_at": (paid["approved_at"] + pd.Timedelta(minutes=5)).to_numpy(), "direction": "return",
        "carrier": ret_market.map(cheapest["slug"]).to_numpy(),
        "service": ret_market.map(cheapest["service"]).to_numpy(),
        "tracking_number": None, "cost_cents": ret_market.map(cheapest["label_cost_cents"]).to_numpy(),
        "currency": ret_market.map(cheapest["currency"]).to_numpy(), "return_id": paid["return_id"].to_numpy(),
    })
    labels = pd.concat([outbound, replacement, ret], ignore_index=True)
    labels["created_at"] = pd.to_datetime(labels["created_at"], utc=True)
    labels = labels.sort_values(["created_at", "order_id", "direction"], kind="stable").reset_index(drop=True)
    labels.insert(0, "label_id", np.arange(42_000_000_000, 42_000_000_000 + len(labels), dtype=np.int64))
    missing = labels["tracking_number"].isna()
    labels.loc[missing, "tracking_number"] = "SS" + labels.loc[missing, "label_id"].astype(str)
    labels["return_id"] = labels["return_id"].astype("Int64")
    labels["cost_cents"] = labels["cost_cents"].astype(np.int64)
    labels["provider"] = LABEL_PROVIDER
    labels["shipment_date"] = _local_dates(labels["created_at"], labels["store_id"], world.stores)
    return labels


def _local_dates(stamps: pd.Series, store_ids: pd.Series, stores: pd.DataFrame) -> np.ndarray:
    """Store-local ISO dates of UTC timestamps (a loop over stores, not rows)."""
    out = np.empty(len(stamps), dtype=object)
    for store_id, tz in zip(stores["store_id"], stores["timezone"]):
        mask = (store_ids == store_id).to_numpy()
        out[mask] = stamps[mask].dt.tz_convert(tz).dt.strftime("%Y-%m-%d").to_numpy()
    return out


def labels_sheet(labels: pd.DataFrame, returns: pd.DataFrame) -> pd.DataFrame:
    """`shipping_labels.csv`: the export ops download from the label provider; a return label carries the Shopify
    return it was bought for (the reference ops type when buying it), blank on outbound labels."""
    return_names = labels["return_id"].map(returns.set_index("return_id")["name"])
    return pd.DataFrame({
        "label_id": labels["label_id"], "provider": labels["provider"], "store_id": labels["store_id"],
        "order_name": labels["order_name"], "shipment_date": labels["shipment_date"], "direction": labels["direction"],
        "carrier": labels["carrier"], "service": labels["service"], "tracking_number": labels["tracking_number"],
        "return_name": return_names.to_numpy(),
        "cost": labels["cost_cents"].map(lambda c: f"{c // 100}.{c % 100:02d}"), "currency": labels["currency"],
    })


def _supplier_credits(rng: np.random.Generator, world: World, orders: pd.DataFrame, rep: pd.DataFrame,
                      returns: pd.DataFrame) -> pd.DataFrame:
    """Supplier credit notes for a share of defective items (replacements and returns with reason DEFECTIVE)."""
    defect_rep = rep[rep["true_cause"] == "supplier_defect"][["original_order_id", "created_at"]]
    defect_ret = returns[returns["true_cause"] == "supplier_defect"][["order_id", "closed_at"]]
    raw = pd.concat([defect_rep.set_axis(["order_id", "at"], axis=1), defect_ret.set_axis(["order_id", "at"], axis=1)],
                    ignore_index=True)
    raw = raw[rng.random(len(raw)) < SUPPLIER_CREDIT_SHARE].reset_index(drop=True)
    o = orders.set_index("order_id")
    sku = raw["order_id"].map(o["sku"])
    skus = world.skus.set_index("sku")
    issued = _us(raw["at"]) + rng.integers(10 * DAY_US, 40 * DAY_US, len(raw))
    frame = pd.DataFrame({
        "supplier_id": sku.map(skus["supplier_id"]).to_numpy(),
        "store_id": raw["order_id"].map(o["store_id"]).to_numpy(),
        "order_id": raw["order_id"].to_numpy(), "order_name": raw["order_id"].map(o["name"]).to_numpy(),
        "sku": sku.to_numpy(), "issued_at": _ts(issued),
        "amount_cents": sku.map(skus["unit_cogs_cents"]).astype(np.int64).to_numpy(),
        "currency": sku.map(skus["cogs_currency"]).to_numpy(),
    }).sort_values(["issued_at", "order_id"], kind="stable").reset_index(drop=True)
    frame.insert(0, "credit_id", [f"SC-{i:06d}" for i in range(1, len(frame) + 1)])
    frame["issued_date"] = _local_dates(frame["issued_at"], frame["store_id"], world.stores)
    return frame


def supplier_credits_sheet(credits: pd.DataFrame) -> pd.DataFrame:
    """`supplier_credits.csv`: credit notes suppliers issued against an order (store-local issue date)."""
    return pd.DataFrame({
        "credit_id": credits["credit_id"], "supplier_id": credits["supplier_id"], "store_id": credits["store_id"],
        "order_name": credits["order_name"], "sku": credits["sku"], "issued_date": credits["issued_date"],
        "amount": credits["amount_cents"].map(lambda c: f"{c // 100}.{c % 100:02d}"), "currency": credits["currency"],
    })


# ------------------------------------------------------------------------------------------------ simulate


def simulate(seed: int, world: World) -> dict[str, pd.DataFrame]:
    """The area's tables over the full horizon of `world` (needs the support and fulfilment areas)."""
    rng = np.random.default_rng([seed, RNG_STREAM])
    horizon = pd.Timestamp(world.meta["horizon_end"])
    orders = _order_frame(world)
    store_ids = list(world.stores["store_id"])
    providers = {s: PROVIDERS[i % len(PROVIDERS)] for i, s in enumerate(store_ids)}
    staff = approvers(world)
    conv = _conversation_of_order(world)
    bad, delivered = _parcel_outcomes(world)
    raw_returns = pd.concat([_returns_for_refunds(rng, world, orders, providers),
                             _exchange_returns(rng, orders, delivered, providers)], ignore_index=True)
    returns = _finish_returns(rng, raw_returns, orders)
    returns = returns[returns["requested_at"] <= horizon].reset_index(drop=True)
    exchanges = returns[(returns["outcome"] == "exchange") & (returns["closed_at"] <= horizon)]
    raw_rep = _replacements(rng, world, orders, bad, delivered, exchanges)
    raw_rep = raw_rep[raw_rep["created_us"] <= horizon.value // 1000].reset_index(drop=True)
    rep, rep_lines = _replacement_orders(rng, raw_rep, orders, world)
    exchange_of = rep.dropna(subset=["return_id"]).set_index("return_id")["order_id"]
    returns["replacement_order_id"] = returns["return_id"].map(exchange_of).astype("Int64")
    unreplaced = bad[~bad["order_id"].isin(rep["original_order_id"]) & bad["order_id"].isin(orders["order_id"])]
    credits = _store_credit(rng, world, orders, conv, staff, unreplaced.drop_duplicates("order_id"))
    credits = credits[credits["created_at"] <= horizon].reset_index(drop=True)
    refund_staff, esc = _refund_staff(rng, world, orders, conv, staff, rep, credits)
    event_us = pd.concat([
        pd.Series(_us(world.refunds["created_at"]), index=pd.MultiIndex.from_arrays(
            [["refund"] * len(world.refunds), world.refunds["refund_id"]])),
        pd.Series(_us(credits["created_at"]), index=pd.MultiIndex.from_arrays(
            [["store_credit"] * len(credits), credits["store_credit_transaction_id"]])),
        pd.Series(_us(rep["created_at"]), index=pd.MultiIndex.from_arrays(
            [["replacement"] * len(rep), rep["order_id"]])),
    ])
    notes = _internal_notes(rng, world, esc, staff, event_us)
    # written approvals go into the note of the object itself
    written = esc[esc["channel"] == "note"]
    rep_token = rep["order_id"].map(written[written["kind"] == "replacement"].set_index("id")["approved_by"])
    rep["note"] = _render_note(rep["note_cause"], rep_token)
    credit_token = credits["store_credit_transaction_id"].map(
        written[written["kind"] == "store_credit"].set_index("id")["approved_by"])
    credits["note"] = _render_note(credits["note_cause"], credit_token)
    labels = _labels(rng, world, orders, returns, rep)
    supplier_credits = _supplier_credits(rng, world, orders, rep, returns)
    return {
        "returns": returns, "replacement_orders": rep, "replacement_line_items": rep_lines,
        "store_credit_transactions": credits, "refund_staff": refund_staff, "escalations": esc,
        "internal_notes": notes, "shipping_labels": labels, "supplier_credits": supplier_credits,
        "approvers": staff,
        "sheet:refund_decision_matrix": decision_matrix(),
        "sheet:approval_limits": approval_limits_sheet(staff, world.meta.get("reporting_currency", "USD")),
        "sheet:shipping_labels": labels_sheet(labels, returns),
        "sheet:supplier_credits": supplier_credits_sheet(supplier_credits),
    }


def _render_note(cause: pd.Series, approved_by: pd.Series) -> list[str | None]:
    out = []
    for c, a in zip(cause, approved_by):
        parts = ([f"cause:{c}"] if isinstance(c, str) else []) + ([f"approved_by:{a}"] if isinstance(a, str) else [])
        out.append(" ".join(parts) or None)
    return out


def refund_note_tokens(tables: dict[str, pd.DataFrame]) -> pd.Series:
    """refund_id → approver handle for approvals written into the Shopify refund note."""
    esc = tables["escalations"]
    esc = esc[(esc["kind"] == "refund") & (esc["channel"] == "note")]
    return esc.set_index("id")["approved_by"]


def at_clock(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The area at `as_of`: objects created after the clock do not exist; return status from its timeline."""
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    ret = tables["returns"]
    ret = ret[ret["requested_at"] <= as_of].copy()
    for col in ("approved_at", "received_at", "closed_at"):
        ret[col] = ret[col].where(ret[col] <= as_of)
    ret["status"] = np.where(ret["closed_at"].notna(), "CLOSED", np.where(ret["approved_at"].notna(), "OPEN",
                                                                          "REQUESTED"))
    rep = tables["replacement_orders"]
    rep = rep[rep["created_at"] <= as_of]
    ret["refund_id"] = ret["refund_id"].where(ret["closed_at"].notna())
    ret["replacement_order_id"] = ret["replacement_order_id"].where(ret["replacement_order_id"].isin(rep["order_id"]))
    lines = tables["replacement_line_items"]
    credits = tables["store_credit_transactions"]
    credits = credits[credits["created_at"] <= as_of]
    labels = tables["shipping_labels"]
    labels = labels[labels["created_at"] <= as_of]
    sup = tables["supplier_credits"]
    sup = sup[sup["issued_at"] <= as_of]
    notes = tables["internal_notes"]
    out = dict(tables)
    out.update({
        "returns": ret.reset_index(drop=True), "replacement_orders": rep.reset_index(drop=True),
        "replacement_line_items": lines[lines["order_id"].isin(rep["order_id"])].reset_index(drop=True),
        "store_credit_transactions": credits.reset_index(drop=True), "shipping_labels": labels.reset_index(drop=True),
        "supplier_credits": sup.reset_index(drop=True),
        "internal_notes": notes[notes["created_at"] <= as_of].reset_index(drop=True),
    })
    out["sheet:shipping_labels"] = labels_sheet(out["shipping_labels"], tables["returns"])
    out["sheet:supplier_credits"] = supplier_credits_sheet(out["supplier_credits"])
    return out
