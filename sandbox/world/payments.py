"""Stripe for the simulated portfolio: one account per brand, with charges, refunds, disputes, balance
transactions, payment intents and events (see sandbox/world/payments.md).

`simulate(seed, world)` derives everything from the full-horizon base world with its own generator
(`default_rng([seed, 202])`), so the base world never changes. Mutable objects (disputes, payment intents,
charges' refund/dispute flags) are stored as timelines; `at_clock(tables, as_of)` derives their state at a clock.
Everything is vectorised (no Python loop per order). `render_<object>(row)` turns a row (as of a clock) into
the JSON object the Stripe API returns, with the key set of the official fixture of the same `object` type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sandbox.world import World

RNG_STREAM = 202
DISPUTE_FEE_CENTS = 1500
MIN_PLANTED = 3

US = 1_000_000  # microseconds per second
HOUR = 3600 * US
DAY = 24 * HOUR

_ALPHABET_BYTES = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)

CARD_BRANDS = ("visa", "mastercard", "amex")
CARD_BRAND_SHARES = (0.56, 0.32, 0.12)

# (failure_code, outcome.type, outcome.reason, outcome.network_status, weight, failure_message)
DECLINES: list[tuple[str, str, str | None, str, float, str]] = [
    ("card_declined", "issuer_declined", "generic_decline", "declined_by_network", 0.34, "Your card was declined."),
    ("insufficient_funds", "issuer_declined", "insufficient_funds", "declined_by_network", 0.22,
     "Your card has insufficient funds."),
    ("do_not_honor", "issuer_declined", "do_not_honor", "declined_by_network", 0.12, "Your card was declined."),
    ("expired_card", "issuer_declined", "expired_card", "declined_by_network", 0.10, "Your card has expired."),
    ("incorrect_cvc", "issuer_declined", "incorrect_cvc", "declined_by_network", 0.10,
     "Your card's security code is incorrect."),
    ("processing_error", "invalid", "processing_error", "not_sent_to_network", 0.05,
     "An error occurred while processing your card. Try again in a little bit."),
    ("card_declined", "blocked", "highest_risk_level", "not_sent_to_network", 0.07,
     "Your card was declined."),
]

# fee by charge currency: (percent, fixed cents); amex adds AMEX_EXTRA_PCT
FEES: dict[str, tuple[float, int]] = {"USD": (2.9, 30), "CAD": (2.9, 30), "AUD": (1.75, 30), "GBP": (1.5, 20)}
AMEX_EXTRA_PCT = 0.5

DISPUTE_REASONS = ("fraudulent", "product_not_received", "product_unacceptable", "general", "credit_not_processed",
                   "duplicate", "unrecognized")
DISPUTE_REASON_WEIGHTS = (0.45, 0.18, 0.10, 0.10, 0.05, 0.04, 0.08)
# network reason codes per reason: (visa, mastercard, amex)
NETWORK_REASON_CODES: dict[str, tuple[str, str, str]] = {
    "fraudulent": ("10.4", "4837", "F29"),
    "product_not_received": ("13.1", "4855", "C08"),
    "product_unacceptable": ("13.3", "4853", "C32"),
    "general": ("13.7", "4853", "C32"),
    "credit_not_processed": ("13.6", "4860", "C02"),
    "duplicate": ("12.6.1", "4834", "P08"),
    "unrecognized": ("10.4", "4837", "F29"),
}
# refund cause of the order -> (dispute reason it suggests, extra dispute probability)
CAUSE_SIGNALS: dict[str, tuple[str, float]] = {
    "fraud": ("fraudulent", 0.20),
    "lost_in_transit": ("product_not_received", 0.08),
    "late_delivery": ("product_not_received", 0.05),
    "not_as_described": ("product_unacceptable", 0.05),
    "supplier_defect": ("product_unacceptable", 0.03),
    "damaged_in_transit": ("product_unacceptable", 0.03),
    "duplicate_charge": ("duplicate", 0.15),
    "refund_process_failure": ("credit_not_processed", 0.15),
}
BASE_DISPUTE_RATE = 0.004
HOT_STORE_FACTOR = 5.0  # one planted store with a fraud wave (Visa VAMP threshold crossed)
MISSING_REFUND_DISPUTE_RATE = 0.5
INQUIRY_SHARE = 0.08
RESPONSE_RATE = 0.82
LATE_SUBMISSION_RATE = 0.03

# rates of planted reconciliation defects (each at least MIN_PLANTED before the clock)
MISSING_CHARGE_RATE = 0.0005
AMOUNT_MISMATCH_RATE = 0.0005
ORPHAN_CHARGE_RATE = 0.0003
MISSING_REFUND_RATE = 0.004
LATE_REFUND_RATE = 0.004
ORPHAN_REFUND_COUNT = 3


# --------------------------------------------------------------------------------------------- small helpers


def _tokens(rng: np.random.Generator, n: int, length: int, prefix: str = "") -> np.ndarray:
    """n random strings `<prefix><base62 × length>` as an object array (deterministic from the generator)."""
    body = _ALPHABET_BYTES[rng.integers(0, _ALPHABET_BYTES.size, size=(n, length))]
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    full = np.ascontiguousarray(np.concatenate([np.broadcast_to(head, (n, head.size)), body], axis=1))
    return full.view(f"S{full.shape[1]}").ravel().astype(str).astype(object)


def _ids(rng: np.random.Generator, prefix: str, n: int, length: int = 24) -> np.ndarray:
    """n random Stripe-style ids `<prefix>_<base62>` (deterministic from the generator)."""
    return _tokens(rng, n, length, f"{prefix}_")


def _utc_series(values: Any) -> pd.Series:
    """Timestamps as a tz-aware UTC µs Series with a fresh RangeIndex (no object round trip)."""
    series = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values)
    return pd.to_datetime(series, utc=True).dt.as_unit("us")


def _by_time(frame: pd.DataFrame, column: str = "created_at") -> pd.DataFrame:
    """Rows in `column` order (stable: ties keep their construction order, which is deterministic)."""
    order = np.argsort(_us(frame[column]), kind="stable")
    return frame.take(order).reset_index(drop=True)


def _ts(micros: np.ndarray) -> pd.DatetimeIndex:
    """tz-aware UTC timestamps (µs) from int64 epoch microseconds."""
    return pd.to_datetime(np.asarray(micros, dtype=np.int64), unit="us", utc=True).as_unit("us")


def _us(series: pd.Series) -> np.ndarray:
    """int64 epoch microseconds of a tz-aware timestamp column (NaT -> min int)."""
    return pd.to_datetime(series, utc=True).dt.as_unit("us").astype("int64").to_numpy()


def _clock_us(world: World) -> int:
    return int(pd.Timestamp(world.meta["as_of"]).value // 1000)


def _horizon_us(world: World) -> int:
    return int(pd.Timestamp(world.meta["horizon_end"]).value // 1000)


def _plant(rng: np.random.Generator, eligible: np.ndarray, before_clock: np.ndarray, rate: float,
           minimum: int = MIN_PLANTED) -> np.ndarray:
    """A random subset of `eligible` at `rate`, topped up so that at least `minimum` are before the clock."""
    picked = eligible & (rng.random(eligible.size) < rate)
    short = minimum - int((picked & before_clock).sum())
    if short > 0:
        pool = np.flatnonzero(eligible & before_clock & ~picked)
        picked[rng.permutation(pool)[:short]] = True
    return picked


def _brand_stores(world: World) -> pd.DataFrame:
    """stores with their brand's Stripe account id."""
    stores = world.stores[["store_id", "brand", "shop_domain", "currency", "market"]].copy()
    stores["account_id"] = "acct_" + stores["brand"].str.lower().str.ljust(16, "0").str[:16]
    return stores


# --------------------------------------------------------------------------------------------- accounts


def _accounts(world: World) -> pd.DataFrame:
    """One Stripe account per brand."""
    stores = _brand_stores(world)
    accounts = stores.groupby("brand", sort=False).agg(account_id=("account_id", "first"),
                                                       default_currency=("currency", "first")).reset_index()
    accounts["secret_key"] = "sk_test_sandbox_" + accounts["brand"].str.lower()
    accounts["country"] = accounts["default_currency"].map({"USD": "US", "AUD": "AU", "GBP": "GB", "CAD": "CA"})
    accounts["business_name"] = accounts["brand"]
    return accounts[["account_id", "brand", "secret_key", "country", "default_currency", "business_name"]]


# --------------------------------------------------------------------------------------------- charges


def _sale_frame(world: World) -> pd.DataFrame:
    """Shopify SALE transactions with their order's store, name, email and the store's account."""
    tx = world.transactions
    sales = tx[tx["kind"] == "SALE"][["transaction_id", "order_id", "status", "amount_cents", "currency",
                                      "created_at"]]
    orders = world.orders[["order_id", "store_id", "name", "email", "test"]]
    sales = sales.merge(orders, on="order_id", how="inner")
    stores = _brand_stores(world)[["store_id", "account_id", "shop_domain"]]
    sales = sales.merge(stores, on="store_id", how="left")
    return sales.sort_values(["created_at", "transaction_id"], kind="stable").reset_index(drop=True)


def _card_columns(rng: np.random.Generator, order_ids: np.ndarray, markets: np.ndarray) -> dict[str, np.ndarray]:
    """One card per order (every attempt of the order uses it): brand, last4, expiry, funding, country."""
    uniq, inverse = np.unique(order_ids, return_inverse=True)
    n = uniq.size
    brand = rng.choice(CARD_BRANDS, size=n, p=CARD_BRAND_SHARES)
    last4 = np.char.zfill(rng.integers(0, 10_000, size=n).astype(str), 4)
    exp_month = rng.integers(1, 13, size=n)
    exp_year = rng.integers(2027, 2032, size=n)
    funding = rng.choice(["credit", "debit", "prepaid"], size=n, p=[0.62, 0.35, 0.03])
    fingerprint = _tokens(rng, n, 16)
    pm = _ids(rng, "pm", n)
    country = pd.Series(markets).replace({"UK": "GB"}).to_numpy()
    return {
        "card_brand": brand[inverse], "card_last4": last4[inverse].astype(object),
        "card_exp_month": exp_month[inverse], "card_exp_year": exp_year[inverse],
        "card_funding": funding[inverse], "card_fingerprint": fingerprint[inverse],
        "payment_method_id": pm[inverse], "card_country": country,
    }


def _outcomes(rng: np.random.Generator, succeeded: np.ndarray) -> dict[str, np.ndarray]:
    """Outcome and failure columns: authorized for successes, a decline from DECLINES for failures."""
    n = succeeded.size
    pick = rng.choice(len(DECLINES), size=n, p=np.array([d[4] for d in DECLINES]) / sum(d[4] for d in DECLINES))
    table = np.array([d[:4] + (d[5],) for d in DECLINES], dtype=object)[pick]
    risk_score = rng.integers(2, 70, size=n)
    risk_score = np.where(table[:, 1] == "blocked", rng.integers(76, 100, size=n), risk_score)
    risk_level = np.where(risk_score >= 75, "highest", np.where(risk_score >= 65, "elevated", "normal"))
    ok = succeeded
    none = np.full(n, None, dtype=object)
    return {
        "failure_code": np.where(ok, none, table[:, 0]),
        "failure_message": np.where(ok, none, table[:, 4]),
        "outcome_type": np.where(ok, "authorized", table[:, 1]),
        "outcome_reason": np.where(ok, none, table[:, 2]),
        "outcome_network_status": np.where(ok, "approved_by_network", table[:, 3]),
        "outcome_seller_message": np.where(ok, "Payment complete.", np.where(
            table[:, 1] == "blocked", "Stripe blocked this payment as too risky.", "The bank did not return any "
            "further details with this decline.")),
        "outcome_risk_level": risk_level,
        "outcome_risk_score": risk_score,
    }


def _charges(rng: np.random.Generator, world: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Charges mirroring the Shopify SALE transactions, plus orphan charges; and the sale links."""
    sales = _sale_frame(world)
    n = len(sales)
    clock = _clock_us(world)
    created_tx = _us(sales["created_at"])
    succeeded = (sales["status"] == "SUCCESS").to_numpy()
    before = created_tx <= clock
    real = ~sales["test"].to_numpy().astype(bool)
    missing = _plant(rng, succeeded & real, before, MISSING_CHARGE_RATE)
    mismatch = _plant(rng, succeeded & real & ~missing, before, AMOUNT_MISMATCH_RATE)
    charge_ids = _ids(rng, "ch", n)
    order_code, order_uniq = pd.factorize(sales["order_id"], sort=True)
    pi_ids = _ids(rng, "pi", order_uniq.size)[order_code]
    market = sales["store_id"].map(dict(zip(world.stores["store_id"], world.stores["market"]))).to_numpy()
    cards = _card_columns(rng, sales["order_id"].to_numpy(), market)
    delta = rng.choice([-995, -100, -1, 1, 100, 500], size=n)
    amount = sales["amount_cents"].to_numpy() + np.where(mismatch, delta, 0)
    amount = np.where(amount <= 0, sales["amount_cents"].to_numpy() + 1, amount)
    charges = pd.DataFrame({
        "charge_id": charge_ids,
        "account_id": sales["account_id"].to_numpy(),
        "store_id": sales["store_id"].to_numpy(),
        "order_id": sales["order_id"].astype("Int64").to_numpy(),
        "transaction_id": sales["transaction_id"].astype("Int64").to_numpy(),
        "payment_intent_id": pi_ids,
        "amount_cents": amount.astype(np.int64),
        "currency": sales["currency"].to_numpy(),
        "created_at": _ts(created_tx + rng.integers(-5 * US, 5 * US, size=n)),
        "status": np.where(succeeded, "succeeded", "failed"),
        **_outcomes(rng, succeeded),
        **cards,
        "billing_email": sales["email"].to_numpy(),
        "metadata_shopify_order": sales["name"].to_numpy(),
        "metadata_shopify_shop": sales["shop_domain"].to_numpy(),
        "balance_transaction_id": np.where(succeeded, _ids(rng, "txn", n), None),
        "defect": np.where(mismatch, "amount_mismatch", None),
    })
    links = pd.DataFrame({
        "transaction_id": sales["transaction_id"].to_numpy(),
        "order_id": sales["order_id"].to_numpy(),
        "kind": "SALE",
        "status": sales["status"].to_numpy(),
        "payment_id": charge_ids,
        "charge_id": charge_ids,
        "defect": np.where(missing, "missing_stripe_charge", np.where(mismatch, "amount_mismatch", None)),
    })
    charges = charges[~missing].reset_index(drop=True)
    orphans = _orphan_charges(rng, world, charges)
    charges = pd.concat([charges, orphans], ignore_index=True)
    return _by_time(charges), links


def _orphan_charges(rng: np.random.Generator, world: World, charges: pd.DataFrame) -> pd.DataFrame:
    """Succeeded charges with no Shopify order (copied card/store from random charges, unknown order name)."""
    ok = charges[charges["status"] == "succeeded"]
    start = int(pd.Timestamp(world.meta["start_date"], tz="UTC").value // 1000)
    clock = _clock_us(world)
    count = max(MIN_PLANTED, int(round(len(ok) * ORPHAN_CHARGE_RATE)))
    src = ok.iloc[rng.integers(0, len(ok), size=count)].copy()
    created = rng.integers(start, _horizon_us(world), size=count)
    created[:MIN_PLANTED] = rng.integers(start, clock - DAY, size=MIN_PLANTED)
    src["charge_id"] = _ids(rng, "ch", count)
    src["payment_intent_id"] = _ids(rng, "pi", count)
    src["balance_transaction_id"] = _ids(rng, "txn", count)
    src["order_id"] = pd.array([pd.NA] * count, dtype="Int64")
    src["transaction_id"] = pd.array([pd.NA] * count, dtype="Int64")
    src["created_at"] = _ts(created)
    src["amount_cents"] = rng.integers(20, 400, size=count) * 100 - 5
    names = np.char.add("#", rng.integers(900_000, 999_999, size=count).astype(str)).astype(object)
    src["metadata_shopify_order"] = np.where(rng.random(count) < 0.5, names, None)
    src["defect"] = "orphan_charge"
    return src


# --------------------------------------------------------------------------------------------- refunds


def _refunds(rng: np.random.Generator, world: World, charges: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One Stripe refund per successful Shopify REFUND transaction (some missing / late), plus a few orphans."""
    tx = world.transactions
    rtx = tx[(tx["kind"] == "REFUND") & (tx["status"] == "SUCCESS")][
        ["transaction_id", "order_id", "refund_id", "amount_cents", "currency", "created_at"]
    ].sort_values(["created_at", "transaction_id"], kind="stable").reset_index(drop=True)
    ok = charges[(charges["status"] == "succeeded") & charges["order_id"].notna()]
    sale_charge = ok.drop_duplicates("order_id").set_index("order_id")
    has_charge = rtx["order_id"].isin(sale_charge.index).to_numpy()
    n = len(rtx)
    created_tx = _us(rtx["created_at"])
    before = created_tx <= _clock_us(world) - DAY
    missing = _plant(rng, has_charge, before, MISSING_REFUND_RATE)
    late = _plant(rng, has_charge & ~missing, before, LATE_REFUND_RATE)
    offset = np.where(late, rng.integers(25 * HOUR, 5 * DAY, size=n), rng.integers(1 * US, 90 * US, size=n))
    refund_ids = _ids(rng, "re", n)
    links = pd.DataFrame({
        "transaction_id": rtx["transaction_id"].to_numpy(), "order_id": rtx["order_id"].to_numpy(),
        "kind": "REFUND", "status": "SUCCESS", "payment_id": refund_ids,
        "charge_id": rtx["order_id"].map(sale_charge["charge_id"]).to_numpy(),
        "defect": np.where(~has_charge, "missing_stripe_charge",
                           np.where(missing, "missing_stripe_refund", np.where(late, "late_stripe_refund", None))),
    })
    keep = has_charge & ~missing
    src = sale_charge.loc[rtx["order_id"][keep]]
    refunds = pd.DataFrame({
        "refund_id": refund_ids[keep],
        "account_id": src["account_id"].to_numpy(),
        "store_id": src["store_id"].to_numpy(),
        "charge_id": src["charge_id"].to_numpy(),
        "payment_intent_id": src["payment_intent_id"].to_numpy(),
        "order_id": rtx["order_id"][keep].astype("Int64").to_numpy(),
        "shopify_refund_id": rtx["refund_id"][keep].astype("Int64").to_numpy(),
        "shopify_transaction_id": rtx["transaction_id"][keep].astype("Int64").to_numpy(),
        "amount_cents": rtx["amount_cents"][keep].to_numpy().astype(np.int64),
        "currency": rtx["currency"][keep].to_numpy(),
        "created_at": _ts(created_tx[keep] + offset[keep]),
        "status": "succeeded",
        "reason": "requested_by_customer",
        "metadata_shopify_order": src["metadata_shopify_order"].to_numpy(),
        "balance_transaction_id": _ids(rng, "txn", int(keep.sum())),
        "defect": np.where(late[keep], "late_stripe_refund", None),
    })
    refunds = pd.concat([refunds, _orphan_refunds(rng, world, ok)], ignore_index=True)
    return _by_time(refunds), links


def _orphan_refunds(rng: np.random.Generator, world: World, ok: pd.DataFrame) -> pd.DataFrame:
    """Stripe refunds issued from the dashboard with no Shopify refund (the reverse reconciliation issue)."""
    clock = _clock_us(world)
    early = ok[_us(ok["created_at"]) < clock - 20 * DAY]
    src = early.iloc[rng.choice(len(early), size=ORPHAN_REFUND_COUNT, replace=False)]
    created = _us(src["created_at"]) + rng.integers(2 * DAY, 10 * DAY, size=ORPHAN_REFUND_COUNT)
    return pd.DataFrame({
        "refund_id": _ids(rng, "re", ORPHAN_REFUND_COUNT),
        "account_id": src["account_id"].to_numpy(), "store_id": src["store_id"].to_numpy(),
        "charge_id": src["charge_id"].to_numpy(), "payment_intent_id": src["payment_intent_id"].to_numpy(),
        "order_id": src["order_id"].to_numpy(),
        "shopify_refund_id": pd.array([pd.NA] * ORPHAN_REFUND_COUNT, dtype="Int64"),
        "shopify_transaction_id": pd.array([pd.NA] * ORPHAN_REFUND_COUNT, dtype="Int64"),
        "amount_cents": (src["amount_cents"].to_numpy() // 2).astype(np.int64),
        "currency": src["currency"].to_numpy(), "created_at": _ts(created), "status": "succeeded",
        "reason": "requested_by_customer", "metadata_shopify_order": src["metadata_shopify_order"].to_numpy(),
        "balance_transaction_id": _ids(rng, "txn", ORPHAN_REFUND_COUNT), "defect": "orphan_stripe_refund",
    })


# --------------------------------------------------------------------------------------------- disputes


def _dispute_signals(world: World, charges: pd.DataFrame, links: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per charge: the reason its order's history suggests (or None) and the extra dispute probability."""
    first_cause = world.refunds.sort_values("created_at").drop_duplicates("order_id").set_index("order_id")
    cause = charges["order_id"].map(first_cause["true_cause"])
    reason = cause.map({c: r for c, (r, _) in CAUSE_SIGNALS.items()}).to_numpy(dtype=object)
    reason = np.where(pd.isna(reason), None, reason)
    boost = cause.map({c: b for c, (_, b) in CAUSE_SIGNALS.items()}).fillna(0.0).to_numpy(dtype=float)
    unrefunded = links.loc[links["defect"] == "missing_stripe_refund", "order_id"]
    no_refund = charges["order_id"].isin(unrefunded).to_numpy()
    reason = np.where(no_refund, "credit_not_processed", reason)
    boost = np.where(no_refund, MISSING_REFUND_DISPUTE_RATE, boost)
    return reason, boost


def _pick_disputed(rng: np.random.Generator, world: World, charges: pd.DataFrame,
                   links: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which succeeded charges get disputed and with which reason."""
    eligible = ((charges["status"] == "succeeded") & charges["order_id"].notna()).to_numpy()
    hot_store = world.stores["store_id"].iloc[-1]
    base = np.where(charges["store_id"].to_numpy() == hot_store, BASE_DISPUTE_RATE * HOT_STORE_FACTOR,
                    BASE_DISPUTE_RATE)
    signal, boost = _dispute_signals(world, charges, links)
    u = rng.random(len(charges))
    disputed = eligible & (u < base + boost)
    by_signal = (u >= base) & (signal != None)  # noqa: E711  (elementwise on an object array)
    reason = rng.choice(DISPUTE_REASONS, size=len(charges), p=DISPUTE_REASON_WEIGHTS).astype(object)
    hot_fraud = (charges["store_id"].to_numpy() == hot_store) & (rng.random(len(charges)) < 0.6)
    reason = np.where(hot_fraud, "fraudulent", reason)
    reason = np.where(by_signal, signal, reason)
    return np.flatnonzero(disputed), reason


def _dispute_timeline(rng: np.random.Generator, created: np.ndarray, reason: np.ndarray,
                      inquiry: np.ndarray) -> dict[str, np.ndarray]:
    """due_by, evidence submission, close time and final status for disputes created at `created` (µs)."""
    n = created.size
    due_day = (created + rng.integers(7, 22, size=n) * DAY) // DAY * DAY
    due = due_day + DAY - US  # 23:59:59 UTC
    responds = rng.random(n) < RESPONSE_RATE
    late = responds & (rng.random(n) < LATE_SUBMISSION_RATE)
    window = due - created
    submitted = created + (rng.uniform(0.1, 0.9, size=n) * window).astype(np.int64)
    submitted = np.where(late, due + rng.integers(2 * HOUR, 2 * DAY, size=n), submitted)
    submitted = np.where(responds, submitted, np.iinfo(np.int64).min)
    win_p = np.where(reason == "credit_not_processed", 0.15, np.where(reason == "fraudulent", 0.35, 0.45))
    won = responds & ~late & (rng.random(n) < win_p)
    closed = np.where(responds, submitted + rng.integers(15 * DAY, 75 * DAY, size=n),
                      due + rng.integers(1 * DAY, 6 * DAY, size=n))
    closed = np.where(inquiry, np.where(responds, submitted, due) + rng.integers(3 * DAY, 20 * DAY, size=n), closed)
    final = np.where(inquiry, "warning_closed", np.where(won, "won", "lost"))
    return {"due": due, "submitted": submitted, "closed": closed, "final": final}


def _plant_deadlines(rng: np.random.Generator, world: World, charges: pd.DataFrame, taken: np.ndarray,
                     ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """MIN_PLANTED disputes due within 72 h of the clock (no evidence yet) and MIN_PLANTED missed ones."""
    clock = _clock_us(world)
    created_ch = _us(charges["created_at"])
    pool = np.flatnonzero(((charges["status"] == "succeeded") & charges["order_id"].notna()).to_numpy()
                          & (created_ch < clock - 40 * DAY) & (created_ch > clock - 70 * DAY) & ~taken)
    pick = rng.permutation(pool)[: 2 * MIN_PLANTED]
    k = pick.size
    at_risk = np.arange(k) < MIN_PLANTED
    due = np.where(at_risk, clock + rng.integers(6 * HOUR, 66 * HOUR, size=k), clock - rng.integers(2, 8, size=k) * DAY)
    created = due - rng.integers(10, 18, size=k) * DAY
    never = np.iinfo(np.int64).min
    submitted = np.where(at_risk & (rng.random(k) < 0.5), due - 2 * HOUR, never)
    closed = np.where(submitted != never, submitted + 40 * DAY, due + rng.integers(1, 6, size=k) * DAY)
    timeline = {"due": due, "submitted": submitted, "closed": closed, "final": np.full(k, "lost", dtype=object),
                "created": created}
    return pick, timeline, np.where(at_risk, "deadline_at_risk", "deadline_missed").astype(object)


def _disputes(rng: np.random.Generator, world: World, charges: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Disputes on a share of succeeded charges, with their status timeline."""
    idx, reason_all = _pick_disputed(rng, world, charges, links)
    created = _us(charges["created_at"])[idx] + rng.integers(5 * DAY, 60 * DAY, size=idx.size)
    reason = reason_all[idx]
    inquiry = rng.random(idx.size) < INQUIRY_SHARE
    timeline = _dispute_timeline(rng, created, reason, inquiry)
    timeline["created"] = created
    planted = np.full(idx.size, None, dtype=object)
    taken = np.zeros(len(charges), dtype=bool)
    taken[idx] = True
    p_idx, p_timeline, p_planted = _plant_deadlines(rng, world, charges, taken)
    idx = np.concatenate([idx, p_idx])
    reason = np.concatenate([reason, np.full(p_idx.size, "product_not_received", dtype=object)])
    inquiry = np.concatenate([inquiry, np.zeros(p_idx.size, dtype=bool)])
    planted = np.concatenate([planted, p_planted])
    timeline = {key: np.concatenate([timeline[key], p_timeline[key]]) for key in timeline}
    keep = timeline["created"] <= _horizon_us(world)
    src = charges.iloc[idx[keep]]
    never = np.iinfo(np.int64).min
    submitted = timeline["submitted"][keep]
    brand_col = {"visa": 0, "mastercard": 1, "amex": 2}
    codes = [NETWORK_REASON_CODES[r][brand_col[b]] for r, b in zip(reason[keep], src["card_brand"])]
    n = int(keep.sum())
    disputes = pd.DataFrame({
        "dispute_id": _ids(rng, "du", n),
        "account_id": src["account_id"].to_numpy(), "store_id": src["store_id"].to_numpy(),
        "charge_id": src["charge_id"].to_numpy(), "payment_intent_id": src["payment_intent_id"].to_numpy(),
        "order_id": src["order_id"].to_numpy(), "card_brand": src["card_brand"].to_numpy(),
        "amount_cents": src["amount_cents"].to_numpy().astype(np.int64), "currency": src["currency"].to_numpy(),
        "reason": reason[keep], "network_reason_code": codes, "is_inquiry": inquiry[keep],
        "created_at": _ts(timeline["created"][keep]),
        "evidence_due_by": _ts(timeline["due"][keep]),
        "evidence_submitted_at": pd.Series(_ts(np.where(submitted == never, 0, submitted))).where(submitted != never),
        "closed_at": _ts(timeline["closed"][keep]),
        "final_status": timeline["final"][keep],
        "planted": planted[keep],
    })
    return _by_time(disputes)


def dispute_state(disputes: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Status, has_evidence, submission_count and past_due of each dispute at `as_of` (timeline → state)."""
    out = disputes.copy()
    submitted = out["evidence_submitted_at"].notna() & (out["evidence_submitted_at"] <= as_of)
    closed = out["closed_at"] <= as_of
    inquiry = out["is_inquiry"].astype(bool)
    status = np.where(submitted, "under_review", "needs_response").astype(object)
    status = np.where(inquiry, np.char.add("warning_", status.astype(str)), status)
    status = np.where(closed, out["final_status"], status)
    out["status"] = status
    out["has_evidence"] = submitted.to_numpy()
    out["submission_count"] = submitted.astype(np.int64).to_numpy()
    out["past_due"] = (submitted & (out["evidence_submitted_at"] > out["evidence_due_by"])).to_numpy()
    out["is_charge_refundable"] = ~(closed.to_numpy() | submitted.to_numpy())
    return out


# --------------------------------------------------------------------------------------------- balance transactions


def _fees(amount: np.ndarray, currency: np.ndarray, brand: np.ndarray) -> np.ndarray:
    """Stripe processing fee in cents (percent + fixed by currency, amex surcharge), half-up rounded."""
    ccy = pd.Series(currency)
    pct = ccy.map({c: f[0] for c, f in FEES.items()}).fillna(2.9).to_numpy(dtype=float)
    pct = pct + np.where(brand == "amex", AMEX_EXTRA_PCT, 0.0)
    fixed = ccy.map({c: f[1] for c, f in FEES.items()}).fillna(30).to_numpy(dtype=float)
    return (np.floor(amount * pct / 100 + 0.5) + fixed).astype(np.int64)


def _bt_frame(ids: Any, account: Any, store: Any, amount: np.ndarray, fee: np.ndarray, currency: Any, bt_type: str,
              category: str, source: Any, created: Any, description: Any, charge: Any, dispute: Any) -> pd.DataFrame:
    """Balance transaction rows of one kind."""
    created = _utc_series(created)
    return pd.DataFrame({
        "balance_transaction_id": np.asarray(ids), "account_id": np.asarray(account), "store_id": np.asarray(store),
        "amount_cents": amount.astype(np.int64), "fee_cents": fee.astype(np.int64),
        "net_cents": (amount - fee).astype(np.int64), "currency": np.asarray(currency), "type": bt_type,
        "reporting_category": category, "source_id": np.asarray(source), "created_at": created,
        "available_on": created.dt.floor("D") + pd.Timedelta(days=2),
        "description": np.asarray(description), "charge_id": np.asarray(charge), "dispute_id": np.asarray(dispute),
    })


def _balance_transactions(rng: np.random.Generator, charges: pd.DataFrame, refunds: pd.DataFrame,
                          disputes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Charge, refund, dispute withdrawal and reinstatement balance transactions; disputes get their BT ids."""
    ok = charges[charges["status"] == "succeeded"]
    amount = ok["amount_cents"].to_numpy()
    frames = [_bt_frame(ok["balance_transaction_id"], ok["account_id"], ok["store_id"], amount,
                        _fees(amount, ok["currency"].to_numpy(), ok["card_brand"].to_numpy()), ok["currency"],
                        "charge", "charge", ok["charge_id"], ok["created_at"], "Payment " + ok["metadata_shopify_order"]
                        .fillna("(no order)"), ok["charge_id"], np.full(len(ok), None))]
    r_amount = -refunds["amount_cents"].to_numpy()
    frames.append(_bt_frame(refunds["balance_transaction_id"], refunds["account_id"], refunds["store_id"], r_amount,
                            np.zeros(len(refunds)), refunds["currency"], "refund", "refund", refunds["refund_id"],
                            refunds["created_at"], np.full(len(refunds), "REFUND FOR CHARGE"), refunds["charge_id"],
                            np.full(len(refunds), None)))
    cb = disputes[~disputes["is_inquiry"]].copy()
    cb["withdrawal_bt"] = _ids(rng, "txn", len(cb))
    cb["reinstatement_bt"] = np.where(cb["final_status"] == "won", _ids(rng, "txn", len(cb)), None)
    frames.append(_bt_frame(cb["withdrawal_bt"], cb["account_id"], cb["store_id"], -cb["amount_cents"].to_numpy(),
                            np.full(len(cb), DISPUTE_FEE_CENTS), cb["currency"], "adjustment", "dispute",
                            cb["dispute_id"], cb["created_at"], "Chargeback withdrawal for " + cb["charge_id"],
                            cb["charge_id"], cb["dispute_id"]))
    won = cb[cb["final_status"] == "won"]
    frames.append(_bt_frame(won["reinstatement_bt"], won["account_id"], won["store_id"], won["amount_cents"]
                            .to_numpy(), np.full(len(won), -DISPUTE_FEE_CENTS), won["currency"], "adjustment",
                            "dispute_reversal", won["dispute_id"], won["closed_at"],
                            "Chargeback reversal for " + won["charge_id"], won["charge_id"], won["dispute_id"]))
    bts = _by_time(pd.concat(frames, ignore_index=True))
    disputes = disputes.merge(cb[["dispute_id", "withdrawal_bt", "reinstatement_bt"]], on="dispute_id", how="left")
    return bts.reset_index(drop=True), disputes


# --------------------------------------------------------------------------------------------- intents, events


def _payment_intents(charges: pd.DataFrame) -> pd.DataFrame:
    """One payment intent per order (and per orphan charge): created just before its first charge."""
    grouped = charges.groupby("payment_intent_id", sort=False)
    pis = grouped.agg(account_id=("account_id", "first"), store_id=("store_id", "first"),
                      order_id=("order_id", "first"), currency=("currency", "first"),
                      amount_cents=("amount_cents", "last"), first_charge_at=("created_at", "min"),
                      metadata_shopify_order=("metadata_shopify_order", "first")).reset_index()
    pis["created_at"] = pis["first_charge_at"] - pd.Timedelta(seconds=1)
    return _by_time(pis.drop(columns=["first_charge_at"]))


def _event_frame(types: Any, created: Any, object_type: str, object_id: Any, account: Any, store: Any,
                 offset_us: int) -> pd.DataFrame:
    """Event rows of one type group; `offset_us` keeps related events in a stable order."""
    created = _utc_series(created)
    return pd.DataFrame({"type": np.asarray(types, dtype=object), "created_at": created + pd.Timedelta(
        microseconds=offset_us), "object_type": object_type, "object_id": np.asarray(object_id),
        "account_id": np.asarray(account), "store_id": np.asarray(store)})


def _events(rng: np.random.Generator, charges: pd.DataFrame, refunds: pd.DataFrame,
            disputes: pd.DataFrame) -> pd.DataFrame:
    """Stripe /v1/events: charge.succeeded/failed, charge.refunded, charge.dispute.* timeline."""
    ch_type = np.where(charges["status"] == "succeeded", "charge.succeeded", "charge.failed")
    frames = [
        _event_frame(ch_type, charges["created_at"], "charge", charges["charge_id"], charges["account_id"],
                     charges["store_id"], 0),
        _event_frame(np.full(len(refunds), "charge.refunded"), refunds["created_at"], "charge",
                     refunds["charge_id"], refunds["account_id"], refunds["store_id"], 1),
        _event_frame(np.full(len(disputes), "charge.dispute.created"), disputes["created_at"], "dispute",
                     disputes["dispute_id"], disputes["account_id"], disputes["store_id"], 0),
    ]
    cb = disputes[~disputes["is_inquiry"]]
    frames.append(_event_frame(np.full(len(cb), "charge.dispute.funds_withdrawn"), cb["created_at"], "dispute",
                               cb["dispute_id"], cb["account_id"], cb["store_id"], 1))
    sub = disputes[disputes["evidence_submitted_at"].notna()]
    frames.append(_event_frame(np.full(len(sub), "charge.dispute.updated"), sub["evidence_submitted_at"], "dispute",
                               sub["dispute_id"], sub["account_id"], sub["store_id"], 0))
    frames.append(_event_frame(np.full(len(disputes), "charge.dispute.closed"), disputes["closed_at"], "dispute",
                               disputes["dispute_id"], disputes["account_id"], disputes["store_id"], 0))
    won = disputes[disputes["final_status"] == "won"]
    frames.append(_event_frame(np.full(len(won), "charge.dispute.funds_reinstated"), won["closed_at"], "dispute",
                               won["dispute_id"], won["account_id"], won["store_id"], 1))
    events = _by_time(pd.concat(frames, ignore_index=True))
    events.insert(0, "event_id", _ids(rng, "evt", len(events)))
    return events


# --------------------------------------------------------------------------------------------- entry points


def simulate(seed: int, world: World) -> dict[str, pd.DataFrame]:
    """Every Stripe table for the full-horizon base `world`, deterministic from `seed`."""
    rng = np.random.default_rng([seed, RNG_STREAM])
    charges, sale_links = _charges(rng, world)
    refunds, refund_links = _refunds(rng, world, charges)
    links = pd.concat([sale_links, refund_links], ignore_index=True)
    disputes = _disputes(rng, world, charges, links)
    bts, disputes = _balance_transactions(rng, charges, refunds, disputes)
    return {
        "stripe_accounts": _accounts(world),
        "charges": charges,
        "shopify_payment_links": links,
        "stripe_refunds": refunds,
        "disputes": disputes,
        "balance_transactions": bts,
        "payment_intents": _payment_intents(charges),
        "events": _events(rng, charges, refunds, disputes),
    }


def _charges_at(charges: pd.DataFrame, refunds: pd.DataFrame, disputes: pd.DataFrame) -> pd.DataFrame:
    """Visible charges with amount_refunded / refunded / disputed as of the clock (inputs already filtered)."""
    out = charges.copy()
    refunded = refunds.groupby("charge_id")["amount_cents"].sum()
    out["amount_refunded_cents"] = out["charge_id"].map(refunded).fillna(0).astype(np.int64)
    out["refunded"] = (out["amount_refunded_cents"] >= out["amount_cents"]) & (out["status"] == "succeeded")
    out["disputed"] = out["charge_id"].isin(disputes["charge_id"])
    return out


def _last_positions(codes: np.ndarray, size: int, mask: np.ndarray) -> np.ndarray:
    """Per code, the largest row position where `mask` holds (-1 when none)."""
    last = np.full(size, -1, dtype=np.int64)
    np.maximum.at(last, codes[mask], np.flatnonzero(mask))
    return last


def _intents_at(intents: pd.DataFrame, charges: pd.DataFrame) -> pd.DataFrame:
    """Visible payment intents with status, latest_charge, amount_received and last error from visible charges."""
    ordered = _by_time(charges)
    codes, uniques = pd.factorize(pd.concat([intents["payment_intent_id"], ordered["payment_intent_id"]],
                                            ignore_index=True))
    pi_codes, ch_codes = codes[: len(intents)], codes[len(intents):]
    everything = np.ones(len(ordered), dtype=bool)
    last = _last_positions(ch_codes, len(uniques), everything)[pi_codes]
    ok = _last_positions(ch_codes, len(uniques), (ordered["status"] == "succeeded").to_numpy())[pi_codes]

    def pick(column: str, positions: np.ndarray) -> np.ndarray:
        values = ordered[column].to_numpy(dtype=object)
        return np.where(positions >= 0, values[np.maximum(positions, 0)] if len(values) else None, None)

    out = intents.copy()
    succeeded = ok >= 0
    out["latest_charge"] = pick("charge_id", last)
    out["status"] = np.where(succeeded, "succeeded", "requires_payment_method")
    out["amount_received_cents"] = np.where(succeeded, pick("amount_cents", ok), 0).astype(np.int64)
    out["amount_cents"] = np.where(last >= 0, pick("amount_cents", last), out["amount_cents"]).astype(np.int64)
    out["last_payment_error_code"] = np.where(succeeded, None, pick("failure_code", last))
    out["payment_method_id"] = pick("payment_method_id", last)
    return out


def at_clock(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The Stripe tables as the API shows them at `as_of` (rows created later dropped, states derived)."""
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")

    def visible(name: str) -> pd.DataFrame:
        return _created_by(tables[name], as_of)

    refunds, disputes, charges = visible("stripe_refunds"), visible("disputes"), visible("charges")
    bts = visible("balance_transactions")
    bts["status"] = np.where(bts["available_on"] <= as_of, "available", "pending")
    disputes = dispute_state(disputes, as_of)
    disputes["balance_transaction_ids"] = _dispute_bt_ids(disputes, bts)
    return {
        "stripe_accounts": tables["stripe_accounts"],
        "charges": _charges_at(charges, refunds, disputes),
        "shopify_payment_links": tables["shopify_payment_links"],
        "stripe_refunds": refunds,
        "disputes": disputes,
        "balance_transactions": bts,
        "payment_intents": _intents_at(visible("payment_intents"), charges),
        "events": visible("events"),
    }


def _created_by(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Rows created at or before `as_of` (a prefix slice when the table is in time order, as simulate leaves it)."""
    created = frame["created_at"]
    if created.is_monotonic_increasing:
        return frame.iloc[: int(created.searchsorted(as_of, side="right"))].copy()
    return frame[created <= as_of].reset_index(drop=True)


def _dispute_bt_ids(disputes: pd.DataFrame, bts: pd.DataFrame) -> list[list[str]]:
    """Per dispute, the ids of its balance transactions visible at the clock (withdrawal, reinstatement)."""
    per = bts.dropna(subset=["dispute_id"]).groupby("dispute_id")["balance_transaction_id"].agg(list)
    return [list(per.get(d, [])) for d in disputes["dispute_id"]]


# --------------------------------------------------------------------------------------------- rendering


def _epoch(value: Any) -> int | None:
    """Unix seconds of a timestamp (None for missing)."""
    if value is None or pd.isna(value):
        return None
    return int(pd.Timestamp(value).timestamp())


def _opt(value: Any) -> Any:
    """None for missing scalars, plain Python values otherwise."""
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return value
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _metadata(row: Any) -> dict[str, str]:
    """Charge/refund metadata written by the Shopify Stripe integration."""
    meta = {}
    for key in ("shopify_order", "shopify_shop"):
        value = _opt(getattr(row, f"metadata_{key}", None))
        if value is not None:
            meta[key] = value
    return meta


def _get(row: Any, name: str, default: Any = None) -> Any:
    value = row.get(name, default) if isinstance(row, dict) else getattr(row, name, default)
    return _opt(value) if value is not None else default


def _address() -> dict[str, None]:
    return dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state"))


def _card_details(row: Any) -> dict[str, Any]:
    """payment_method_details for a card charge."""
    brand = _get(row, "card_brand")
    return {
        "card": {
            "amount_authorized": _get(row, "amount_cents") if _get(row, "status") == "succeeded" else None,
            "authorization_code": None, "brand": brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": "pass",
                       "cvc_check": "fail" if _get(row, "failure_code") == "incorrect_cvc" else "pass"},
            "country": _get(row, "card_country"), "exp_month": _get(row, "card_exp_month"),
            "exp_year": _get(row, "card_exp_year"), "extended_authorization": {"status": "disabled"},
            "fingerprint": _get(row, "card_fingerprint"), "funding": _get(row, "card_funding"),
            "incremental_authorization": {"status": "unavailable"}, "installments": None,
            "last4": _get(row, "card_last4"), "mandate": None, "multicapture": {"status": "unavailable"},
            "network": brand, "network_token": {"used": False}, "network_transaction_id": None,
            "overcapture": {"maximum_amount_capturable": _get(row, "amount_cents"), "status": "unavailable"},
            "regulated_status": None, "three_d_secure": None, "transaction_link_id": None, "wallet": None,
        },
        "type": "card",
    }


def render_charge(row: Any) -> dict[str, Any]:
    """A Stripe `charge` object from a charges row (as of a clock: uses amount_refunded/refunded/disputed)."""
    cid = _get(row, "charge_id")
    ok = _get(row, "status") == "succeeded"
    amount = _get(row, "amount_cents")
    order = _get(row, "metadata_shopify_order")
    return {
        "id": cid, "object": "charge", "amount": amount, "amount_captured": amount if ok else 0,
        "amount_refunded": _get(row, "amount_refunded_cents", 0), "application": None, "application_fee": None,
        "application_fee_amount": None, "balance_transaction": _get(row, "balance_transaction_id"),
        "billing_details": {"address": _address(), "email": _get(row, "billing_email"), "name": None,
                            "phone": None, "tax_id": None},
        "calculated_statement_descriptor": None, "captured": ok, "created": _epoch(_get(row, "created_at")),
        "currency": str(_get(row, "currency")).lower(), "customer": None,
        "description": f"Shopify order {order}" if order else None, "disputed": bool(_get(row, "disputed", False)),
        "failure_balance_transaction": None, "failure_code": _get(row, "failure_code"),
        "failure_message": _get(row, "failure_message"), "fraud_details": {}, "livemode": False,
        "metadata": _metadata(row), "on_behalf_of": None,
        "outcome": {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                    "network_status": _get(row, "outcome_network_status"), "reason": _get(row, "outcome_reason"),
                    "risk_level": _get(row, "outcome_risk_level"), "risk_score": _get(row, "outcome_risk_score"),
                    "seller_message": _get(row, "outcome_seller_message"), "type": _get(row, "outcome_type")},
        "paid": ok, "payment_intent": _get(row, "payment_intent_id"), "payment_method": _get(row, "payment_method_id"),
        "payment_method_details": _card_details(row), "receipt_email": _get(row, "billing_email"),
        "receipt_number": None, "receipt_url": None, "refunded": bool(_get(row, "refunded", False)),
        "refunds": {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{cid}/refunds"},
        "review": None, "shipping": None, "source": None, "source_transfer": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": _get(row, "status"), "transfer_data": None,
        "transfer_group": None,
    }


def render_refund(row: Any) -> dict[str, Any]:
    """A Stripe `refund` object from a stripe_refunds row."""
    return {
        "id": _get(row, "refund_id"), "object": "refund", "amount": _get(row, "amount_cents"),
        "balance_transaction": _get(row, "balance_transaction_id"), "charge": _get(row, "charge_id"),
        "created": _epoch(_get(row, "created_at")), "currency": str(_get(row, "currency")).lower(),
        "customer": None, "customer_account": None,
        "destination_details": {"card": {"reference": None, "reference_status": "pending",
                                         "reference_type": "acquirer_reference_number", "type": "refund"},
                                "type": "card"},
        "metadata": _metadata(row), "payment_intent": _get(row, "payment_intent_id"), "payment_method": None,
        "reason": _get(row, "reason"), "receipt_number": None, "source_transfer_reversal": None,
        "status": _get(row, "status"), "transfer_reversal": None,
    }


EVIDENCE_KEYS = ("access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
                 "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
                 "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
                 "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt",
                 "refund_policy", "refund_policy_disclosure", "refund_refusal_explanation", "service_date",
                 "service_documentation", "shipping_address", "shipping_carrier", "shipping_date",
                 "shipping_documentation", "shipping_tracking_number", "uncategorized_file", "uncategorized_text")


def render_dispute(row: Any) -> dict[str, Any]:
    """A Stripe `dispute` object from a disputes row as of a clock (needs the columns of `dispute_state`)."""
    evidence: dict[str, Any] = dict.fromkeys(EVIDENCE_KEYS)
    evidence["enhanced_evidence"] = {}
    if _get(row, "has_evidence", False):
        evidence["uncategorized_text"] = "Order fulfilled and delivered; tracking attached."
    bt_ids = _get(row, "balance_transaction_ids") or []
    return {
        "id": _get(row, "dispute_id"), "object": "dispute", "amount": _get(row, "amount_cents"),
        "balance_transactions": list(bt_ids), "charge": _get(row, "charge_id"),
        "created": _epoch(_get(row, "created_at")), "currency": str(_get(row, "currency")).lower(),
        "enhanced_eligibility_types": [], "evidence": evidence,
        "evidence_details": {"due_by": _epoch(_get(row, "evidence_due_by")),
                             "enhanced_eligibility": {}, "has_evidence": bool(_get(row, "has_evidence", False)),
                             "past_due": bool(_get(row, "past_due", False)),
                             "submission_count": int(_get(row, "submission_count", 0))},
        "is_charge_refundable": bool(_get(row, "is_charge_refundable", False)), "livemode": False,
        "metadata": {}, "payment_intent": _get(row, "payment_intent_id"),
        "payment_method_details": {"card": {"brand": _get(row, "card_brand"),
                                            "case_type": "inquiry" if _get(row, "is_inquiry") else "chargeback",
                                            "network_reason_code": _get(row, "network_reason_code"),
                                            "network": _get(row, "card_brand")},
                                   "type": "card"},
        "reason": _get(row, "reason"), "status": _get(row, "status"),
    }


def render_balance_transaction(row: Any) -> dict[str, Any]:
    """A Stripe `balance_transaction` object from a balance_transactions row as of a clock."""
    fee = _get(row, "fee_cents", 0)
    currency = str(_get(row, "currency")).lower()
    details = [] if fee == 0 else [{"amount": fee, "application": None, "currency": currency,
                                    "description": "Stripe processing fees" if _get(row, "type") == "charge"
                                    else "Dispute fee", "type": "stripe_fee"}]
    return {
        "id": _get(row, "balance_transaction_id"), "object": "balance_transaction",
        "amount": _get(row, "amount_cents"), "available_on": _epoch(_get(row, "available_on")),
        "balance_type": "payments", "created": _epoch(_get(row, "created_at")), "currency": currency,
        "description": _get(row, "description"), "exchange_rate": None, "fee": fee, "fee_details": details,
        "net": _get(row, "net_cents"), "reporting_category": _get(row, "reporting_category"),
        "source": _get(row, "source_id"), "status": _get(row, "status", "available"), "type": _get(row, "type"),
    }


def render_payment_intent(row: Any) -> dict[str, Any]:
    """A Stripe `payment_intent` object from a payment_intents row as of a clock."""
    pid = _get(row, "payment_intent_id")
    code = _get(row, "last_payment_error_code")
    return {
        "id": pid, "object": "payment_intent", "amount": _get(row, "amount_cents"), "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": _get(row, "amount_received_cents", 0),
        "application": None, "application_fee_amount": None, "automatic_payment_methods": {"enabled": True},
        "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic",
        "client_secret": f"{pid}_secret_sandbox", "confirmation_method": "automatic",
        "created": _epoch(_get(row, "created_at")), "currency": str(_get(row, "currency")).lower(),
        "customer": None, "customer_account": None, "description": None, "excluded_payment_method_types": None,
        "last_payment_error": None if code is None else {"type": "card_error", "code": code},
        "latest_charge": _get(row, "latest_charge"), "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": _metadata(row), "next_action": None, "on_behalf_of": None,
        "payment_method": _get(row, "payment_method_id"), "payment_method_configuration_details": None,
        "payment_method_options": {}, "payment_method_types": ["card"], "processing": None,
        "receipt_email": None, "review": None, "setup_future_usage": None, "shipping": None, "source": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None, "status": _get(row, "status"),
        "transfer_data": None, "transfer_group": None,
    }


def render_event(row: Any, data_object: dict[str, Any]) -> dict[str, Any]:
    """A Stripe `event` from an events row; `data_object` is the object rendered as of the event's created."""
    return {
        "id": _get(row, "event_id"), "object": "event", "api_version": "2026-08-27.basil",
        "created": _epoch(_get(row, "created_at")), "data": {"object": data_object}, "livemode": False,
        "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None}, "type": _get(row, "type"),
    }
