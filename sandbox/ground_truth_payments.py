"""Ground truth for the Stripe slice: dispute, payment and reconciliation KPIs and lost-chargeback leak events.

Independent of the emulator and of `sandbox.world.payments.at_clock`: this module re-derives every state it needs
from the Stripe tables' timelines with its own pandas code and applies METRICS.md §6, §10 (payments) and §11
with the exact rules written in `sandbox/world/payments.md` ("Metric rules"). Charges and disputes are mapped to
a store only through what the API shows: the account's brand, `metadata.shopify_shop` and
`metadata.shopify_order` (the order name within that shop). Money is carried as integer cents and converted with
Decimal (FX of the event's local date, latest earlier rate when missing, half away from zero per dispute).

Optional inputs for the preventability conditions that need other sources (all `pd.DataFrame | None`):
- `fulfilment`: `order_id`, `shipped_within_48h` (bool, None when unknown), `has_tracking` (bool),
  `delivered_at` (UTC timestamp, null when not delivered);
- `support`: `order_id`, `first_reply_due_at` (conversation created + 48 business hours, UTC),
  `first_reply_at` (first public staff reply, null when none), `refund_requested_at` (null when none).
Without them those conditions are false (only `credit_not_processed` makes a dispute preventable).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sandbox.ground_truth import KPI_COLUMNS, FxRates, load_sheets

ISSUE_TYPES = ("missing_stripe_charge", "orphan_stripe_charge", "amount_mismatch", "missing_stripe_refund",
               "orphan_stripe_refund")
REFUND_GRACE = pd.Timedelta(hours=24)
AT_RISK_WINDOW = pd.Timedelta(hours=72)
REASON_CAUSE = {
    "product_unacceptable": "not_as_described",
    "fraudulent": "fraud",
    "credit_not_processed": "refund_process_failure",
    "duplicate": "duplicate_charge",
}
CHARGEBACK_LEAK_COLUMNS = ["dispute_id", "charge_id", "order_id", "store_id", "local_date", "period_start", "reason",
                           "cause", "cause_source", "preventable", "preventable_dispute", "currency",
                           "amount_lost", "fees", "chargeback_cost_usd"]


# --------------------------------------------------------------------------------------------------- helpers


def _clock(world: Any, as_of: pd.Timestamp | None) -> pd.Timestamp:
    """The clock: `as_of` if given, else `world.meta['as_of']`, as UTC."""
    stamp = pd.Timestamp(as_of if as_of is not None else world.meta["as_of"])
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, None for a zero denominator."""
    return None if denominator == 0 else numerator / denominator


def _local_month(stamps: pd.Series, store_ids: pd.Series, timezones: dict[str, str]) -> pd.Series:
    """First day of the local month of each UTC timestamp in its store's timezone (None without a store)."""
    out = pd.Series([None] * len(stamps), index=stamps.index, dtype=object)
    for store_id, tz in timezones.items():
        mask = (store_ids == store_id).to_numpy()
        if mask.any():
            local = pd.to_datetime(stamps[mask], utc=True).dt.tz_convert(tz)
            key = (local.dt.year * 12 + local.dt.month - 1).to_numpy()
            firsts = {k: date(int(k) // 12, int(k) % 12 + 1, 1) for k in np.unique(key)}
            out[mask] = pd.Series(key).map(firsts).to_numpy()
    return out


def _local_date(stamp: pd.Timestamp, tz: str) -> date:
    return pd.Timestamp(stamp).tz_convert(tz).date()


def _decimal(cents: int) -> Decimal:
    """Integer cents as a two-place Decimal."""
    return Decimal(cents).scaleb(-2)


def _isin(values: pd.Series, candidates: pd.Series) -> np.ndarray:
    """Boolean mask of `values` found in `candidates` (hash lookup on object arrays: fast for string ids)."""
    lookup = pd.Series(candidates.to_numpy(dtype=object), dtype=object)
    return pd.Series(values.to_numpy(dtype=object), dtype=object).isin(lookup).to_numpy()


def _previous_month(day: date) -> date:
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


# --------------------------------------------------------------------------------------------------- mapping


def _stores(world: Any) -> pd.DataFrame:
    return world.stores[["store_id", "brand", "shop_domain", "timezone"]]


def _map_charges(world: Any, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    """Charges visible at the clock with `store` (from account brand + metadata shop) and `order` (by name)."""
    charges = tables["charges"]
    charges = charges[charges["created_at"] <= as_of]
    accounts = tables["stripe_accounts"][["account_id", "brand"]]
    stores = _stores(world).rename(columns={"store_id": "store", "shop_domain": "metadata_shopify_shop"})
    mapped = charges.drop(columns=["store_id", "order_id"], errors="ignore").merge(accounts, on="account_id",
                                                                                     how="left")
    mapped = mapped.merge(stores[["store", "brand", "metadata_shopify_shop"]], on=["brand", "metadata_shopify_shop"],
                          how="left")
    orders = world.orders[world.orders["created_at"] <= as_of][["order_id", "store_id", "name"]]
    orders = orders.rename(columns={"store_id": "store", "name": "metadata_shopify_order", "order_id": "order"})
    return mapped.merge(orders, on=["store", "metadata_shopify_order"], how="left")


def _dispute_status(disputes: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Status at the clock from the timeline columns (independent re-derivation)."""
    statuses = []
    for inquiry, submitted, closed, final in zip(disputes["is_inquiry"], disputes["evidence_submitted_at"],
                                                  disputes["closed_at"], disputes["final_status"]):
        if pd.notna(closed) and closed <= as_of:
            statuses.append(final)
            continue
        state = "under_review" if pd.notna(submitted) and submitted <= as_of else "needs_response"
        statuses.append(f"warning_{state}" if inquiry else state)
    return pd.Series(statuses, index=disputes.index, dtype=object)


def _disputes(world: Any, tables: dict[str, pd.DataFrame], charges: pd.DataFrame,
              as_of: pd.Timestamp) -> pd.DataFrame:
    """Chargebacks (not inquiries) visible at the clock, with status, store, order, card brand, local month."""
    disputes = tables["disputes"]
    disputes = disputes[(disputes["created_at"] <= as_of) & ~disputes["is_inquiry"].astype(bool)].copy()
    for column in ("created_at", "evidence_due_by", "evidence_submitted_at", "closed_at"):
        disputes[column] = pd.to_datetime(disputes[column], utc=True)
    disputes["status_at"] = _dispute_status(disputes, as_of)
    keys = charges[["charge_id", "store", "order", "card_brand"]].rename(columns={"card_brand": "charge_brand"})
    disputes = disputes.merge(keys, on="charge_id", how="left")
    tz = dict(zip(world.stores["store_id"], world.stores["timezone"]))
    disputes["period_start"] = _local_month(disputes["created_at"], disputes["store"], tz)
    return disputes.reset_index(drop=True)


# --------------------------------------------------------------------------------------------------- disputes


def _net_fees(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.Series:
    """dispute_id -> Σ fee of its balance transactions visible at the clock (fee charged minus fee returned)."""
    bts = tables["balance_transactions"]
    bts = bts[(bts["created_at"] <= as_of) & bts["dispute_id"].notna()]
    return bts.groupby("dispute_id")["fee_cents"].sum()


def _dispute_cost_cents(disputes: pd.DataFrame, fees: pd.Series) -> pd.Series:
    """Per dispute, original currency cents: amount if lost at the clock + net dispute fees."""
    lost = np.where(disputes["status_at"] == "lost", disputes["amount_cents"], 0)
    return pd.Series(lost + disputes["dispute_id"].map(fees).fillna(0).to_numpy(), index=disputes.index).astype(
        "int64")


def _preventable(disputes: pd.DataFrame, fulfilment: pd.DataFrame | None, support: pd.DataFrame | None,
                 as_of: pd.Timestamp) -> pd.Series:
    """METRICS §6 preventable dispute (any one condition); conditions with no input are false."""
    result = disputes["reason"] == "credit_not_processed"
    if fulfilment is not None:
        ful = fulfilment.drop_duplicates("order_id").set_index("order_id")
        late = disputes["order"].map(ful["shipped_within_48h"]).eq(False)
        no_tracking = disputes["order"].map(ful["has_tracking"]).eq(False)
        delivered = disputes["order"].map(ful["delivered_at"])
        undelivered = disputes["order"].isin(ful.index) & ~(delivered.notna() & (delivered <= as_of))
        result |= (disputes["reason"] == "product_not_received") & (late | no_tracking | undelivered)
    if support is not None:
        result |= _support_conditions(disputes, support)
    return result.fillna(False).astype(bool)


def _support_conditions(disputes: pd.DataFrame, support: pd.DataFrame) -> pd.Series:
    """Waited > 48 business hours for a first reply before the dispute; product_unacceptable after a refund
    request in support."""
    joined = disputes[["dispute_id", "order", "reason", "created_at"]].merge(
        support, left_on="order", right_on="order_id", how="inner")
    due = joined["first_reply_due_at"]
    waited = (due < joined["created_at"]) & (joined["first_reply_at"].isna() | (joined["first_reply_at"] > due))
    asked = (joined["reason"] == "product_unacceptable") & (joined["refund_requested_at"] < joined["created_at"])
    hit = set(joined.loc[(waited | asked).fillna(False).astype(bool), "dispute_id"])
    return disputes["dispute_id"].isin(hit)


# --------------------------------------------------------------------------------------------------- inputs


def preventability_inputs(world_at_clock: Any, sheets_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The optional `fulfilment` and `support` inputs of `compute_kpis`, from the true world at its clock.

    fulfilment (one row per order existing at the clock): `shipped_within_48h` = True/False
    once decided (shipped, or the §7 deadline passed at the clock: paid orders not cancelled only), None otherwise;
    `has_tracking` = a fulfillment of the order at the clock carries a tracking number; `delivered_at` = the first
    AfterShip delivery of one of its parcels at the clock (NaT when none: never delivered).
    support (one row per conversation about an order, created at the clock): `first_reply_due_at` = created +
    48 business hours on the order's store calendar (METRICS §0: whole local business days, holidays excluded, no
    cut-off), `first_reply_at` = first public staff reply (§9 rule 2) at the clock, `refund_requested_at` =
    created when the conversation is an issue ticket (§9 rule 6, not spam at the clock), else NaT.
    """
    from sandbox.ground_truth_fulfilment import SLA_HOURS, _calendars, _line_ship_times, _load_sheets, _paid_orders
    from sandbox.ground_truth_support import SPAM, _is_issue, _status_at

    clock = _clock(world_at_clock, None)
    sheets = _load_sheets(Path(sheets_dir))
    cals = _calendars(sheets["stores"], sheets["holidays"])
    orders = world_at_clock.orders[["order_id", "store_id"]]
    fulfilment_tables = world_at_clock.areas.get("fulfilment", {})
    facts = orders.copy()
    facts["shipped_within_48h"] = None
    facts["has_tracking"] = False
    facts["delivered_at"] = pd.NaT
    if fulfilment_tables:
        paid = _paid_orders(world_at_clock, clock, cals)
        lines = _line_ship_times(world_at_clock, fulfilment_tables, clock)
        grouped = lines.groupby("order_id")
        complete = grouped["line_shipped_at"].count() == grouped.size()
        shipped = grouped["line_shipped_at"].max().where(complete)
        decided: dict[int, bool] = {}
        for order_id, store_id, deadline in zip(paid["order_id"], paid["store_id"], paid["deadline"]):
            cal = cals[store_id]
            done = shipped.get(order_id)
            if done is not None and not pd.isna(done):
                decided[order_id] = cal.local(done) <= deadline
            elif deadline <= cal.local(clock):
                decided[order_id] = False
        facts["shipped_within_48h"] = facts["order_id"].map(decided).astype(object)
        facts["shipped_within_48h"] = facts["shipped_within_48h"].where(facts["shipped_within_48h"].notna(), None)
        fl = fulfilment_tables["fulfillments"]
        fl = fl[(fl["created_at"] <= clock) & fl["tracking_number"].fillna("").astype(str).str.strip().ne("")]
        facts["has_tracking"] = facts["order_id"].isin(fl["order_id"])
        tr = fulfilment_tables["trackings"]
        tr = tr[tr["shipment_delivery_date"].notna() & (tr["shipment_delivery_date"] <= clock)]
        tr = tr.merge(fulfilment_tables["fulfillments"][["fulfillment_id", "order_id"]].rename(
            columns={"order_id": "parcel_order"}), on="fulfillment_id")
        facts["delivered_at"] = facts["order_id"].map(
            pd.to_datetime(tr["shipment_delivery_date"], utc=True).groupby(tr["parcel_order"]).min())
    support_rows = pd.DataFrame(columns=["order_id", "first_reply_due_at", "first_reply_at", "refund_requested_at"])
    support = world_at_clock.areas.get("support")
    if support is not None:
        conv = support["conversations"]
        conv = conv[(conv["created_at"] <= clock) & conv["order_id"].notna()]
        conv = conv.assign(order_id=conv["order_id"].astype(np.int64))
        conv = conv.merge(orders.rename(columns={"store_id": "order_store"}), on="order_id")
        status, _ = _status_at(support["conversation_status_history"], clock)
        msgs = support["messages"]
        public = msgs[(msgs["created_at"] <= clock) & (msgs["visibility"] == 0) & msgs["user_is_staff"].astype(bool)
                      & ~msgs["automated"].astype(bool)]
        first_reply = public.groupby("conversation_slug")["created_at"].min()
        due = []
        for created, store_id in zip(conv["created_at"], conv["order_store"]):
            cal = cals[store_id]
            local_due = cal.add_business_hours(cal.local(created), SLA_HOURS)
            due.append(pd.Timestamp(local_due).tz_localize(cal.timezone, ambiguous=False,
                                                           nonexistent="shift_forward").tz_convert("UTC"))
        issue = [_is_issue(tags, category) and status.get(slug, 0) != SPAM
                 for tags, category, slug in zip(conv["tag_list"], conv["category"], conv["slug"])]
        support_rows = pd.DataFrame({
            "order_id": conv["order_id"].to_numpy(),
            "first_reply_due_at": pd.to_datetime(pd.Series(due, dtype=object), utc=True).to_numpy(),
            "first_reply_at": pd.to_datetime(conv["slug"].map(first_reply), utc=True).to_numpy(),
            "refund_requested_at": pd.to_datetime(conv["created_at"].where(issue), utc=True).to_numpy(),
        })
        for column in ("first_reply_due_at", "first_reply_at", "refund_requested_at"):
            support_rows[column] = pd.to_datetime(support_rows[column], utc=True)
    return facts.reset_index(drop=True), support_rows


# --------------------------------------------------------------------------------------------------- issues


def compute_integration_issues(world: Any, tables: dict[str, pd.DataFrame],
                               as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Open reconciliation issues at the clock (METRICS §11): one row per issue with type, ids, store.

    Shopify transactions carry `payment_id` (from `shopify_payment_links`, i.e. gateway `stripe`).
    """
    clock = _clock(world, as_of)
    tx = world.transactions[world.transactions["created_at"] <= clock].drop(columns=["payment_id"], errors="ignore")
    tx = tx.merge(tables["shopify_payment_links"][["transaction_id", "payment_id"]], on="transaction_id", how="inner")
    tx = tx.merge(world.orders[["order_id", "store_id"]], on="order_id", how="left")
    tx = tx[tx["status"] == "SUCCESS"]
    charges = _map_charges(world, tables, clock)
    refunds = tables["stripe_refunds"]
    refunds = refunds[refunds["created_at"] <= clock].merge(charges[["charge_id", "store"]], on="charge_id",
                                                            how="left")
    sales = tx[tx["kind"] == "SALE"]
    ok = charges[charges["status"] == "succeeded"]
    frames = [
        _issue_rows("missing_stripe_charge", sales[~_isin(sales["payment_id"], charges["charge_id"])], sales_side=True),
        _issue_rows("orphan_stripe_charge", ok[~_isin(ok["charge_id"], sales["payment_id"])], sales_side=False),
        _issue_rows("amount_mismatch", _mismatches(sales, charges), sales_side=True),
    ]
    shop_refunds = tx[(tx["kind"] == "REFUND") & (tx["created_at"] <= clock - REFUND_GRACE)]
    frames.append(_issue_rows("missing_stripe_refund",
                              shop_refunds[~_isin(shop_refunds["payment_id"], refunds["refund_id"])], sales_side=True))
    old = refunds[refunds["created_at"] <= clock - REFUND_GRACE]
    shop_refund_ids = tx.loc[tx["kind"] == "REFUND", "payment_id"]
    frames.append(_issue_rows("orphan_stripe_refund", old[~_isin(old["refund_id"], shop_refund_ids)], sales_side=False,
                              id_column="refund_id"))
    issues = pd.concat(frames, ignore_index=True)
    issues["first_seen"] = pd.to_datetime(issues["first_seen"], utc=True)
    issues["age_hours"] = (clock - issues["first_seen"]).dt.total_seconds() / 3600
    return issues


def _mismatches(sales: pd.DataFrame, charges: pd.DataFrame) -> pd.DataFrame:
    """Linked sale/charge pairs whose amount or currency differ."""
    pairs = sales.merge(charges[["charge_id", "amount_cents", "currency"]], left_on="payment_id",
                        right_on="charge_id", suffixes=("", "_stripe"))
    bad = (pairs["amount_cents"] != pairs["amount_cents_stripe"]) | (
        pairs["currency"].str.upper() != pairs["currency_stripe"].str.upper())
    return pairs[bad]


def _issue_rows(issue_type: str, rows: pd.DataFrame, sales_side: bool, id_column: str = "charge_id") -> pd.DataFrame:
    """Issue rows: Shopify-side issues keyed by transaction, Stripe-side by the Stripe object."""
    if sales_side:
        return pd.DataFrame({"issue_type": issue_type, "store_id": rows["store_id"].to_numpy(),
                             "shopify_transaction_id": rows["transaction_id"].to_numpy(),
                             "stripe_id": rows["payment_id"].to_numpy(),
                             "first_seen": pd.to_datetime(rows["created_at"], utc=True).to_numpy()})
    return pd.DataFrame({"issue_type": issue_type, "store_id": rows["store"].to_numpy(),
                         "shopify_transaction_id": None, "stripe_id": rows[id_column].to_numpy(),
                         "first_seen": pd.to_datetime(rows["created_at"], utc=True).to_numpy()})


# --------------------------------------------------------------------------------------------------- kpis


def _month_rows(metric: str, frame: pd.DataFrame, value: str, dimension: str | None = None,
                dim_column: str | None = None) -> list[tuple[Any, ...]]:
    """kpis rows from a frame with store, period_start, (dim), value columns."""
    rows = []
    for rec in frame.itertuples(index=False):
        store = rec.store if isinstance(rec.store, str) else None
        dim_value = getattr(rec, dim_column) if dim_column else None
        raw = getattr(rec, value)
        rows.append((metric, store, rec.period_start, "month", dimension, dim_value,
                     None if raw is None or pd.isna(raw) else float(raw)))
    return rows


def _with_portfolio(frame: pd.DataFrame, keys: list[str], sums: list[str]) -> pd.DataFrame:
    """Append portfolio rows (store None) summing `sums` over stores."""
    portfolio = frame.groupby(keys, as_index=False)[sums].sum()
    portfolio["store"] = None
    return pd.concat([frame, portfolio], ignore_index=True)


def _auth_rows(charges: pd.DataFrame) -> list[tuple[Any, ...]]:
    """auth_success_rate per store-month (dimension NULL) and per card brand (dimension card_brand)."""
    charges = charges.assign(ok=(charges["status"] == "succeeded").astype(int), n=1)
    rows: list[tuple[Any, ...]] = []
    for dims in ([], ["card_brand"]):
        keys = ["store", "period_start", *dims]
        agg = charges.groupby(keys, as_index=False)[["ok", "n"]].sum()
        agg = _with_portfolio(agg, ["period_start", *dims], ["ok", "n"])
        agg["rate"] = [_ratio(a, b) for a, b in zip(agg["ok"], agg["n"])]
        rows += _month_rows("auth_success_rate", agg, "rate", "card_brand" if dims else None,
                            "card_brand" if dims else None)
    return rows


def _dispute_month_frame(disputes: pd.DataFrame, charges: pd.DataFrame, cost_usd: pd.Series,
                         preventable: pd.Series) -> pd.DataFrame:
    """Sums per store × month: disputes, cost, preventable, won, lost, Visa/MC disputes and charge bases."""
    d = disputes.assign(n=1, cost=cost_usd, prev=preventable.astype(int),
                        won=(disputes["status_at"] == "won").astype(int),
                        lost=(disputes["status_at"] == "lost").astype(int),
                        visa=(disputes["charge_brand"] == "visa").astype(int),
                        mc=(disputes["charge_brand"] == "mastercard").astype(int))
    sums = d.groupby(["store", "period_start"])[["n", "cost", "prev", "won", "lost", "visa", "mc"]].sum()
    ok = charges[charges["status"] == "succeeded"]
    base = ok.assign(visa_ch=(ok["card_brand"] == "visa").astype(int),
                     mc_ch=(ok["card_brand"] == "mastercard").astype(int))
    base = base.groupby(["store", "period_start"])[["visa_ch", "mc_ch"]].sum()
    months = charges.groupby(["store", "period_start"]).size().index.union(sums.index)
    frame = pd.DataFrame(index=months).join(sums).join(base).fillna(0).reset_index()
    prev = base["mc_ch"].rename("mc_prev")
    frame["prev_month"] = [_previous_month(p) for p in frame["period_start"]]
    frame = frame.merge(prev.reset_index().rename(columns={"period_start": "prev_month"}), on=["store", "prev_month"],
                        how="left").fillna({"mc_prev": 0})
    return frame.drop(columns=["prev_month"])


def _dispute_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The §6 monthly rows (store and portfolio) from the summed frame."""
    cols = ["n", "cost", "prev", "won", "lost", "visa", "mc", "visa_ch", "mc_ch", "mc_prev"]
    frame = _with_portfolio(frame, ["period_start"], cols)
    frame["dispute_count"] = frame["n"].astype(float)
    frame["chargeback_cost"] = frame["cost"] / 100
    frame["preventable_dispute_share"] = [_ratio(a, b) for a, b in zip(frame["prev"], frame["n"])]
    frame["dispute_win_rate"] = [_ratio(w, w + la) for w, la in zip(frame["won"], frame["lost"])]
    frame["dispute_rate_visa"] = [_ratio(a, b) for a, b in zip(frame["visa"], frame["visa_ch"])]
    frame["dispute_rate_mastercard"] = [_ratio(a, b) for a, b in zip(frame["mc"], frame["mc_prev"])]
    rows: list[tuple[Any, ...]] = []
    for metric in ("dispute_count", "chargeback_cost", "preventable_dispute_share", "dispute_win_rate",
                   "dispute_rate_visa", "dispute_rate_mastercard"):
        rows += _month_rows(metric, frame, metric)
    return rows


def _cost_usd(world: Any, disputes: pd.DataFrame, cents: pd.Series, fx: FxRates) -> pd.Series:
    """Per dispute: cost converted at the dispute's created local date, rounded to cents."""
    tz = dict(zip(world.stores["store_id"], world.stores["timezone"]))
    values = []
    for store, created, amount, currency in zip(disputes["store"], disputes["created_at"], cents,
                                                disputes["currency"]):
        day = _local_date(created, tz[store]) if isinstance(store, str) else pd.Timestamp(created).date()
        values.append(fx.to_reporting_cents(int(amount), str(currency).upper(), day))
    return pd.Series(values, index=disputes.index, dtype="int64")


def _asof_rows(world: Any, disputes: pd.DataFrame, issues: pd.DataFrame, clock: pd.Timestamp) -> list[tuple]:
    """disputes_at_risk, disputes_missed and integration_issue_count by issue_type (store + portfolio)."""
    submitted_in_time = disputes["evidence_submitted_at"].notna() & (
        disputes["evidence_submitted_at"] <= disputes["evidence_due_by"])
    at_risk = (disputes["status_at"] == "needs_response") & (disputes["evidence_due_by"] > clock) & (
        disputes["evidence_due_by"] <= clock + AT_RISK_WINDOW)
    missed = (disputes["evidence_due_by"] <= clock) & ~submitted_in_time
    day = clock.date()
    rows: list[tuple[Any, ...]] = []
    stores: list[str | None] = [*world.stores["store_id"], None]
    for store in stores:
        in_store = disputes["store"].eq(store) if store else pd.Series(True, index=disputes.index)
        rows.append(("disputes_at_risk", store, day, "asof", None, None, float((at_risk & in_store).sum())))
        rows.append(("disputes_missed", store, day, "asof", None, None, float((missed & in_store).sum())))
        of_store = issues[issues["store_id"].eq(store)] if store else issues
        counts = of_store["issue_type"].value_counts()
        for issue_type in ISSUE_TYPES:
            rows.append(("integration_issue_count", store, day, "asof", "issue_type", issue_type,
                         float(counts.get(issue_type, 0))))
    return rows


def compute_kpis(world: Any, tables: dict[str, pd.DataFrame], sheets_dir: Path, as_of: pd.Timestamp | None = None,
                 fulfilment: pd.DataFrame | None = None, support: pd.DataFrame | None = None) -> pd.DataFrame:
    """The payments `kpis` rows (METRICS §13 long format): §6 dispute metrics and auth_success_rate per store ×
    local month and portfolio, plus the as-of counts (at risk, missed, integration issues by type).

    `world` is the full-horizon base world, `tables` the full-horizon output of `payments.simulate`; both are
    cut at the clock (`as_of`, default `world.meta['as_of']`) here.
    """
    clock = _clock(world, as_of)
    sheets = load_sheets(Path(sheets_dir), str(world.meta.get("reporting_currency") or "USD"))
    tz = dict(zip(world.stores["store_id"], world.stores["timezone"]))
    charges = _map_charges(world, tables, clock)
    charges = charges[charges["store"].notna()].copy()
    charges["period_start"] = _local_month(charges["created_at"], charges["store"], tz)
    disputes = _disputes(world, tables, charges, clock)
    cents = _dispute_cost_cents(disputes, _net_fees(tables, clock))
    cost = _cost_usd(world, disputes, cents, sheets.fx)
    preventable = _preventable(disputes, fulfilment, support, clock)
    rows = _auth_rows(charges)
    rows += _dispute_rows(_dispute_month_frame(disputes, charges, cost, preventable))
    rows += _asof_rows(world, disputes, compute_integration_issues(world, tables, clock), clock)
    frame = pd.DataFrame(rows, columns=KPI_COLUMNS, dtype=object)
    return frame.sort_values(["metric", "grain", "period_start"], key=_sort_key, kind="stable").reset_index(drop=True)


def _sort_key(column: pd.Series) -> pd.Series:
    return column.astype(str)


# --------------------------------------------------------------------------------------------------- leak events


def _cause(reason: str, order: Any, tracking: pd.DataFrame | None, as_of: pd.Timestamp) -> str:
    """Leak cause from the dispute reason (METRICS §6); product_not_received uses tracking when given."""
    if reason == "product_not_received":
        if tracking is None:
            return "lost_in_transit"
        delivered = tracking.loc[tracking["order_id"] == order, "delivered_at"]
        done = delivered.notna() & (delivered <= as_of)
        return "late_delivery" if bool(done.any()) else "lost_in_transit"
    return REASON_CAUSE.get(reason, "unknown")


def leak_events_chargebacks(world: Any, tables: dict[str, pd.DataFrame], sheets_dir: Path,
                            as_of: pd.Timestamp | None = None, tracking: pd.DataFrame | None = None,
                            fulfilment: pd.DataFrame | None = None,
                            support: pd.DataFrame | None = None) -> pd.DataFrame:
    """Lost disputes at the clock as leak events (METRICS §3/§6), dated and converted at the local date Stripe
    debited the disputed amount: the dispute's opening (its withdrawal balance transaction), the one date of a
    lost dispute the API keeps (a dispute has no close time; `charge.dispute.closed` events expire after 30 days).

    Cost = disputed amount + net dispute fees of its balance transactions, converted at that local date (as its
    §6 `chargeback_cost`). `preventable` is the cause's `preventable_default`; `preventable_dispute` the §6 rule.
    `tracking` (optional): `order_id`, `delivered_at`.
    """
    clock = _clock(world, as_of)
    sheets = load_sheets(Path(sheets_dir), str(world.meta.get("reporting_currency") or "USD"))
    tz = dict(zip(world.stores["store_id"], world.stores["timezone"]))
    charges = _map_charges(world, tables, clock)
    disputes = _disputes(world, tables, charges, clock)
    prevent = _preventable(disputes, fulfilment, support, clock)
    fees = _net_fees(tables, clock)
    lost = disputes[disputes["status_at"] == "lost"]
    rows = []
    for index, rec in lost.iterrows():
        day = _local_date(rec["created_at"], tz[rec["store"]]) if isinstance(rec["store"], str) else \
            rec["created_at"].date()
        fee = int(fees.get(rec["dispute_id"], 0))
        cause = _cause(rec["reason"], rec["order"], tracking, clock)
        usd = sheets.fx.to_reporting_cents(int(rec["amount_cents"]) + fee, str(rec["currency"]).upper(), day)
        rows.append((rec["dispute_id"], rec["charge_id"], None if pd.isna(rec["order"]) else int(rec["order"]),
                     rec["store"], day, day.replace(day=1), rec["reason"], cause,
                     "unknown" if cause == "unknown" else "inferred",
                     sheets.preventable_default.get(cause, False), bool(prevent[index]),
                     str(rec["currency"]).upper(), _decimal(int(rec["amount_cents"])), _decimal(fee), _decimal(usd)))
    return pd.DataFrame(rows, columns=CHARGEBACK_LEAK_COLUMNS).astype(object)
