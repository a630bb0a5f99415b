"""Ground truth of the complete leak picture: METRICS.md §2 (full gross profit), §3, §4, §5 and §10 returns.

Independent of dbt. Reads the world at its clock (`world_at`), the ops sheets (`sku_catalog`, `refund_causes`,
`fx_rates`, `refund_decision_matrix`, `approval_limits`) and applies the rules written in
`sandbox/world/leaks.md` ("Metric rules"). Everything is vectorised (pandas/numpy, loops over stores only);
money is integer cents, converted with integer FX arithmetic (rates have 6 decimals, exact) and rounded half away
from zero per source amount, then summed.

The warehouse side of these definitions does not exist yet: the rows go to `area_kpis` (area `leaks`), while the
slice's `kpis` (sandbox/ground_truth.py) keep the earlier, narrower definitions.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sandbox.ground_truth import KPI_COLUMNS

UNKNOWN = "unknown"
STORE_CREDIT_COST_RATIO = Decimal("0.5")  # config `store_credit_cost_ratio`, METRICS §3 default
CASH = frozenset({"cash_refund", "partial_refund"})
CREDIT_OR_REPLACEMENT = frozenset({"store_credit", "replacement", "reship_free"})
PARTIAL_THRESHOLD = 0.9  # a refund paying back less than 90 % of its lines' value is a partial refund
RETURN_REASON_CAUSE = {
    "DEFECTIVE": "supplier_defect", "WRONG_ITEM": "wrong_item", "NOT_AS_DESCRIBED": "not_as_described",
    "SIZE_TOO_LARGE": "size_fit", "SIZE_TOO_SMALL": "size_fit", "UNWANTED": "changed_mind", "STYLE": "changed_mind",
    "COLOR": "changed_mind",
}
CANCEL_REASON_CAUSE = {"INVENTORY": "out_of_stock", "FRAUD": "fraud"}
DIMENSIONS = ("supplier", "sku", "store", "market", "carrier", "carrier_market", "cause", "agent")
KPI_DIMENSIONS = ("supplier", "sku", "market", "carrier", "cause")
OWNER_ACTION = {
    "supplier": "QC at the supplier / claim a supplier credit",
    "carrier": "packaging, carrier switch or file the carrier claim",
    "warehouse": "pick-check before dispatch",
    "listing": "fix the description or the size guide",
    "support": "response template / agent training",
    "customer": "review the returns policy",
    "payments": "fraud screening / payment settings",
}
EVENT_COLUMNS = [
    "event_id", "event_type", "object_id", "order_id", "store_id", "market", "created_at", "local_date",
    "period_start", "resolution", "cause", "cause_source", "preventable", "true_cause", "staff", "currency",
    "cash_refunded", "store_credit_issued", "store_credit_cost", "replacement_cost", "return_label_cost",
    "restocked_cogs", "recoveries", "chargeback_cost", "leak_cost", "order_value", "value_band", "first_choice",
    "escalated", "compliant", "cash_before_credit", "approval_limit", "over_limit_unapproved", "dispute_evidence",
]
MONEY_COLUMNS = ["cash_refunded", "store_credit_issued", "store_credit_cost", "replacement_cost", "return_label_cost",
                 "restocked_cogs", "recoveries", "chargeback_cost", "leak_cost", "order_value", "approval_limit"]


# --------------------------------------------------------------------------------------------------- fx, dates


class VectorFx:
    """FX from `fx_rates.csv` as exact integer micro-rates; latest earlier rate when a day is missing."""

    def __init__(self, sheets_dir: Path, reporting: str) -> None:
        if reporting != "USD":
            raise ValueError(f"ground_truth_leaks supports reporting currency USD only, got {reporting!r}")
        fx = pd.read_csv(Path(sheets_dir) / "fx_rates.csv", dtype=str, keep_default_na=False)
        micro = [Decimal(r.strip()) * 1_000_000 for r in fx["rate_to_usd"]]
        if any(m != m.to_integral_value() for m in micro):
            raise ValueError("fx_rates.csv: rate_to_usd with more than 6 decimals")
        fx = fx.assign(micro=[int(m) for m in micro], day=pd.to_datetime(fx["date"]).to_numpy().astype("datetime64[D]"))
        self._by_ccy = {c: (g.sort_values("day")["day"].to_numpy(), g.sort_values("day")["micro"].to_numpy())
                        for c, g in fx.groupby("currency")}

    def cents(self, cents: Any, currency: Any, day: Any) -> np.ndarray:
        """Reporting cents, each amount converted at its day and rounded half away from zero."""
        cents = np.asarray(cents, dtype=np.int64)
        currency = np.asarray(currency, dtype=object)
        days = np.asarray(pd.to_datetime(pd.Series(day, dtype=object)).to_numpy(), dtype="datetime64[D]")
        micro = np.zeros(len(cents), dtype=np.int64)
        for ccy in pd.unique(currency):
            mask = currency == ccy
            if ccy == "USD":
                micro[mask] = 1_000_000
                continue
            if ccy not in self._by_ccy:
                raise ValueError(f"fx_rates.csv has no rate for {ccy}; add one to the sheet")
            known, rates = self._by_ccy[ccy]
            pos = np.searchsorted(known, days[mask], side="right") - 1
            if (pos < 0).any():
                raise ValueError(f"fx_rates.csv has no rate for {ccy} on or before {days[mask][pos < 0].min()}")
            micro[mask] = rates[pos]
        product = cents * micro
        return np.sign(product) * ((np.abs(product) + 500_000) // 1_000_000)


def _local(stamps: pd.Series, store_ids: pd.Series, stores: pd.DataFrame) -> pd.Series:
    """Store-local dates (datetime64[D] values as python dates) of UTC timestamps; a loop over stores."""
    out = pd.Series(pd.NaT, index=stamps.index, dtype="datetime64[s]")
    stamps = pd.to_datetime(stamps, utc=True)
    for store_id, tz in zip(stores["store_id"], stores["timezone"]):
        mask = (store_ids == store_id).to_numpy()
        if mask.any():
            out[mask] = stamps[mask].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize().to_numpy()
    return out.dt.date


def _month(days: pd.Series) -> pd.Series:
    return days.map(lambda d: d.replace(day=1) if isinstance(d, date) else None)


def _cents_of(text: pd.Series) -> np.ndarray:
    """Decimal strings (`12.30`) as integer cents ('' → 0)."""
    return np.array([int(Decimal(t) * 100) if t else 0 for t in text], dtype=np.int64)


# --------------------------------------------------------------------------------------------------- inputs


def _read(sheets_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(sheets_dir) / f"{name}.csv", dtype=str, keep_default_na=False)


class _Ctx:
    def __init__(self, world: Any, sheets_dir: Path) -> None:
        from sandbox.world import world_at

        self.full = world
        self.world = world_at(world)
        self.as_of = pd.Timestamp(self.world.meta["as_of"])
        self.as_of = self.as_of.tz_localize("UTC") if self.as_of.tzinfo is None else self.as_of.tz_convert("UTC")
        self.sheets_dir = Path(sheets_dir)
        self.fx = VectorFx(sheets_dir, str(world.meta.get("reporting_currency") or "USD"))
        self.stores = self.world.stores
        self.market = self.stores.set_index("store_id")["market"]
        catalog = _read(sheets_dir, "sku_catalog")
        catalog = catalog[(catalog["unit_cogs"] != "") & (catalog["cogs_currency"] != "")]
        self.cogs = pd.DataFrame({"unit_cogs_cents": _cents_of(catalog["unit_cogs"]),
                                  "cogs_currency": catalog["cogs_currency"].to_numpy()}, index=catalog["sku"])
        sup = _read(sheets_dir, "sku_catalog")
        self.supplier = sup.set_index("sku")["supplier_id"].replace("", "unmapped")
        causes = _read(sheets_dir, "refund_causes")
        self.codes = set(causes["code"]) - {UNKNOWN}
        self.preventable_default = dict(zip(causes["code"], causes["preventable_default"].str.lower() == "true"))
        self.owner = dict(zip(causes["code"], causes["owner"]))
        self.matrix = _read(sheets_dir, "refund_decision_matrix")
        limits = _read(sheets_dir, "approval_limits")
        self.limit = pd.Series(_cents_of(limits["max_amount"]), index=limits["staff"])
        self.leaks = self.world.areas["leaks"]
        self.fulfilment = self.world.areas.get("fulfilment", {})


def _paid_orders(ctx: _Ctx) -> pd.DataFrame:
    """Paid, non-test orders at the clock with paid local date, month, revenue/shipping/COGS in reporting cents."""
    w = ctx.world
    tx = w.transactions
    paid = tx[tx["kind"].isin(["SALE", "CAPTURE"]) & (tx["status"] == "SUCCESS")]
    paid_at = paid.sort_values(["order_id", "created_at", "transaction_id"]).groupby("order_id")["created_at"].first()
    orders = w.orders[~w.orders["test"].astype(bool) & w.orders["order_id"].isin(paid_at.index)].copy()
    orders["paid_at"] = orders["order_id"].map(paid_at)
    orders["paid_date"] = _local(orders["paid_at"], orders["store_id"], ctx.stores)
    orders["period_start"] = _month(orders["paid_date"])
    lines = w.line_items.merge(orders[["order_id", "currency", "paid_date"]], on="order_id")
    lines["revenue"] = ctx.fx.cents(lines["unit_price_cents"] * lines["quantity"] - lines["discount_cents"],
                                    lines["currency"], lines["paid_date"])
    cogs = ctx.cogs.reindex(lines["sku"])
    mapped = cogs["unit_cogs_cents"].notna().to_numpy()
    lines["cogs"] = 0
    if mapped.any():
        lines.loc[mapped, "cogs"] = ctx.fx.cents(
            cogs["unit_cogs_cents"].to_numpy()[mapped].astype(np.int64) * lines["quantity"].to_numpy()[mapped],
            cogs["cogs_currency"].to_numpy()[mapped], lines["paid_date"].to_numpy()[mapped])
    per = lines.groupby("order_id")[["revenue", "cogs"]].sum()
    orders["revenue"] = orders["order_id"].map(per["revenue"]).fillna(0).astype(np.int64)
    orders["cogs"] = orders["order_id"].map(per["cogs"]).fillna(0).astype(np.int64)
    orders["shipping"] = ctx.fx.cents(orders["shipping_price_cents"].fillna(0), orders["currency"], orders["paid_date"])
    labels = ctx.leaks["shipping_labels"]
    out = labels[(labels["direction"] == "outbound") & labels["order_id"].isin(orders["order_id"])]
    out = out.merge(orders[["order_id", "paid_date"]], on="order_id")
    out["usd"] = ctx.fx.cents(out["cost_cents"], out["currency"], out["paid_date"])
    orders["label_cost"] = orders["order_id"].map(out.groupby("order_id")["usd"].sum()).fillna(0).astype(np.int64)
    orders["payment_fees"] = orders["order_id"].map(_payment_fees(ctx, orders)).fillna(0).astype(np.int64)
    orders["gross_profit"] = (orders["revenue"] + orders["shipping"] - orders["cogs"] - orders["label_cost"]
                              - orders["payment_fees"])
    return orders.reset_index(drop=True)


def _payment_fees(ctx: _Ctx, orders: pd.DataFrame) -> pd.Series:
    """order_id → Stripe fees (balance transactions of its succeeded charges visible at the clock), at paid date."""
    pay = ctx.full.areas.get("payments")
    if pay is None:
        return pd.Series(dtype=np.int64)
    charges = pay["charges"]
    charges = charges[(charges["created_at"] <= ctx.as_of) & (charges["status"] == "succeeded")
                      & charges["order_id"].notna()]
    bts = pay["balance_transactions"]
    bts = bts[(bts["created_at"] <= ctx.as_of) & (bts["type"] == "charge")]
    fees = bts.merge(charges[["charge_id", "order_id"]], on="charge_id")
    fees["order_id"] = fees["order_id"].astype(np.int64)
    fees = fees.merge(orders[["order_id", "paid_date"]], on="order_id")
    fees["usd"] = ctx.fx.cents(fees["fee_cents"], fees["currency"].str.upper(), fees["paid_date"])
    return fees.groupby("order_id")["usd"].sum()


# --------------------------------------------------------------------------------------------------- events


def _refund_events(ctx: _Ctx, orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refund leak events (cash part, resolution, staff) and their lines (line_item_id, weight)."""
    w = ctx.world
    base = w.orders[~w.orders["test"].astype(bool)][["order_id", "store_id", "currency", "tags"]]
    refunds = w.refunds.merge(base, on="order_id")
    refunds["local_date"] = _local(refunds["created_at"], refunds["store_id"], ctx.stores)
    tx = w.transactions
    tx = tx[(tx["kind"] == "REFUND") & (tx["status"] == "SUCCESS") & tx["refund_id"].notna()].copy()
    tx["refund_id"] = tx["refund_id"].astype(np.int64)
    tx = tx.merge(refunds[["refund_id", "local_date"]], on="refund_id")
    tx["usd"] = ctx.fx.cents(tx["amount_cents"], tx["currency"], tx["local_date"])
    cash = tx.groupby("refund_id")[["usd", "amount_cents"]].sum()
    refunds["cash"] = refunds["refund_id"].map(cash["usd"]).fillna(0).astype(np.int64)
    refunds["cash_original"] = refunds["refund_id"].map(cash["amount_cents"]).fillna(0)
    rli = w.refund_line_items.merge(w.line_items[["line_item_id", "sku", "quantity", "unit_price_cents",
                                                  "discount_cents"]], on="line_item_id", suffixes=("", "_ordered"))
    rli["full"] = (rli["unit_price_cents"] * rli["quantity_ordered"] - rli["discount_cents"]) \
        * rli["quantity"] / rli["quantity_ordered"]
    refunds["full"] = refunds["refund_id"].map(rli.groupby("refund_id")["full"].sum()).fillna(0)
    refunds["resolution"] = np.where(refunds["cash_original"] < PARTIAL_THRESHOLD * refunds["full"],
                                     "partial_refund", "cash_refund")
    refunds["staff"] = refunds["refund_id"].map(ctx.leaks["refund_staff"].set_index("refund_id")["staff"])
    per_order = refunds["order_id"].map(refunds["order_id"].value_counts())
    tag_cause = [next((t.split(":", 1)[1] for t in (tags if tags is not None else [])
                       if str(t).startswith("refund-cause:")), None) for tags in refunds["tags"]]
    refunds["tag_cause_seen"] = np.where(per_order == 1, tag_cause, None)
    prev_tag = [next((t.split(":", 1)[1].lower() for t in (tags if tags is not None else [])
                      if str(t).lower().startswith("preventable:")), None) for tags in refunds["tags"]]
    token = refunds["preventable_token"].where(refunds["preventable_token"].notna(), pd.Series(prev_tag))
    refunds["preventable_token_seen"] = token
    # restocked and received: lines restocked with RETURN whose return (of this refund) was received by the clock
    ret = ctx.leaks["returns"]
    received = ret[ret["refund_id"].notna() & ret["received_at"].notna()]
    restock = rli[(rli["restock_type"] == "RETURN") & rli["refund_id"].isin(received["refund_id"].astype(np.int64))]
    restock = restock.merge(refunds[["refund_id", "local_date"]], on="refund_id")
    refunds["restocked_cogs"] = refunds["refund_id"].map(_cogs_cents(ctx, restock).groupby(
        restock["refund_id"].to_numpy()).sum()).fillna(0).astype(np.int64)
    events = pd.DataFrame({
        "event_id": "refund:" + refunds["refund_id"].astype(str), "event_type": "refund",
        "object_id": refunds["refund_id"].astype(str), "order_id": refunds["order_id"],
        "store_id": refunds["store_id"], "created_at": refunds["created_at"], "local_date": refunds["local_date"],
        "resolution": refunds["resolution"], "note_cause": refunds["note_cause"],
        "tag_cause": refunds["tag_cause_seen"], "preventable_token": refunds["preventable_token_seen"],
        "true_cause": refunds["true_cause"], "staff": refunds["staff"], "currency": refunds["currency"],
        "cash_refunded": refunds["cash"], "restocked_cogs": refunds["restocked_cogs"],
        "note": refunds["note"], "return_key": refunds["refund_id"].astype(float),
    })
    lines = pd.DataFrame({"event_id": "refund:" + rli["refund_id"].astype(str), "sku": rli["sku"],
                          "weight": rli["subtotal_cents"].astype(float)})
    return events, lines


def _cogs_cents(ctx: _Ctx, frame: pd.DataFrame) -> pd.Series:
    """COGS (sku_catalog) × quantity of each row, converted at its `local_date` (0 for unmapped SKUs)."""
    cogs = ctx.cogs.reindex(frame["sku"])
    mapped = cogs["unit_cogs_cents"].notna().to_numpy()
    out = np.zeros(len(frame), dtype=np.int64)
    if mapped.any():
        out[mapped] = ctx.fx.cents(cogs["unit_cogs_cents"].to_numpy()[mapped].astype(np.int64)
                                   * frame["quantity"].to_numpy()[mapped],
                                   cogs["cogs_currency"].to_numpy()[mapped], frame["local_date"].to_numpy()[mapped])
    return pd.Series(out, index=frame.index)


def _replacement_events(ctx: _Ctx) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replacement orders at the clock: COGS + outbound label (+ return label, − restocked item of an exchange)."""
    rep = ctx.leaks["replacement_orders"].copy()
    rep["local_date"] = _local(rep["created_at"], rep["store_id"], ctx.stores)
    lines = ctx.leaks["replacement_line_items"].merge(rep[["order_id", "local_date"]], on="order_id")
    cogs = _cogs_cents(ctx, lines).groupby(lines["order_id"].to_numpy()).sum()
    labels = ctx.leaks["shipping_labels"]
    out = labels[(labels["direction"] == "outbound") & labels["order_id"].isin(rep["order_id"])]
    out = out.merge(rep[["order_id", "local_date"]], on="order_id")
    label = pd.Series(ctx.fx.cents(out["cost_cents"], out["currency"], out["local_date"])).groupby(
        out["order_id"].to_numpy()).sum()
    ret = ctx.leaks["returns"]
    exch = ret[ret["replacement_order_id"].notna()].copy()
    exch["replacement_order_id"] = exch["replacement_order_id"].astype(np.int64)
    exch = exch.merge(rep[["order_id", "local_date"]], left_on="replacement_order_id", right_on="order_id",
                      suffixes=("", "_rep"))
    received = exch[exch["received_at"].notna()].merge(ctx.world.line_items[["line_item_id", "sku"]],
                                                       on="line_item_id")
    restocked = _cogs_cents(ctx, received).groupby(received["replacement_order_id"].to_numpy()).sum()
    tags = rep["tags"].map(lambda t: list(t) if t is not None else [])
    resolution = np.where(tags.map(lambda t: "reship" in t), "reship_free", "replacement")
    original = tags.map(lambda t: next((x.split(":", 1)[1] for x in t if x.startswith("replacement-for:")), None))
    names = ctx.world.orders[["order_id", "store_id", "name"]]
    orig_id = pd.Series(list(zip(rep["store_id"], original))).map(
        names.set_index(["store_id", "name"])["order_id"]).to_numpy()
    events = pd.DataFrame({
        "event_id": "replacement:" + rep["order_id"].astype(str), "event_type": "replacement",
        "object_id": rep["order_id"].astype(str), "order_id": orig_id, "store_id": rep["store_id"],
        "created_at": rep["created_at"], "local_date": rep["local_date"], "resolution": resolution,
        "note_cause": rep["note_cause"], "tag_cause": None, "preventable_token": None,
        "true_cause": rep["true_cause"], "staff": None, "currency": rep["currency"],
        "replacement_cost": rep["order_id"].map(cogs).fillna(0).astype(np.int64)
        + rep["order_id"].map(label).fillna(0).astype(np.int64),
        "restocked_cogs": rep["order_id"].map(restocked).fillna(0).astype(np.int64),
        "note": rep["note"],
        "exchange_return": rep["order_id"].map(exch.set_index("replacement_order_id")["return_id"]),
    })
    events = events[pd.notna(events["order_id"])]
    lines = pd.DataFrame({"event_id": "replacement:" + lines["order_id"].astype(str), "sku": lines["sku"],
                          "weight": lines["quantity"].astype(float)})
    return events, lines


def _store_credit_events(ctx: _Ctx) -> pd.DataFrame:
    sc = ctx.leaks["store_credit_transactions"].copy()
    sc["local_date"] = _local(sc["created_at"], sc["store_id"], ctx.stores)
    issued = ctx.fx.cents(sc["amount_cents"], sc["currency"], sc["local_date"])
    ratio_num, ratio_den = STORE_CREDIT_COST_RATIO.as_integer_ratio()
    cost = np.sign(issued) * ((np.abs(issued) * ratio_num * 2 + ratio_den) // (2 * ratio_den))
    return pd.DataFrame({
        "event_id": "store_credit:" + sc["store_credit_transaction_id"].astype(str), "event_type": "store_credit",
        "object_id": sc["store_credit_transaction_id"].astype(str), "order_id": sc["order_id"],
        "store_id": sc["store_id"], "created_at": sc["created_at"], "local_date": sc["local_date"],
        "resolution": "store_credit", "note_cause": sc["note_cause"], "tag_cause": None, "preventable_token": None,
        "true_cause": sc["true_cause"], "staff": sc["issued_by"], "currency": sc["currency"],
        "store_credit_issued": issued, "store_credit_cost": cost, "note": sc["note"],
    })


def _chargeback_events(ctx: _Ctx) -> pd.DataFrame:
    pay = ctx.full.areas.get("payments")
    if pay is None:
        return pd.DataFrame(columns=["event_id"])
    from sandbox.ground_truth_payments import leak_events_chargebacks

    tracking = None
    if "trackings" in ctx.fulfilment:
        tr = ctx.fulfilment["trackings"]
        tracking = pd.DataFrame({"order_id": tr["order_id"], "delivered_at": tr["shipment_delivery_date"]})
    cb = leak_events_chargebacks(ctx.full, pay, ctx.sheets_dir, ctx.as_of, tracking=tracking)
    cb = cb[cb["store_id"].notna() & cb["order_id"].notna()]
    disputes = pay["disputes"].set_index("dispute_id")
    due = cb["dispute_id"].map(disputes["evidence_due_by"])
    submitted = cb["dispute_id"].map(disputes["evidence_submitted_at"])
    evidence = np.where(submitted.notna() & (submitted <= due), "submitted",
                        np.where(submitted.notna(), "late", "missed"))
    return pd.DataFrame({
        "event_id": "chargeback:" + cb["dispute_id"].astype(str), "event_type": "chargeback",
        "object_id": cb["dispute_id"].astype(str), "order_id": cb["order_id"].astype(np.int64),
        "store_id": cb["store_id"], "created_at": cb["dispute_id"].map(disputes["created_at"]),
        "local_date": cb["local_date"], "resolution": None, "cause": cb["cause"], "cause_source": cb["cause_source"],
        "preventable": cb["preventable"].astype(bool), "true_cause": None, "staff": None,
        "currency": cb["currency"], "note": None,
        "chargeback_cost": (cb["chargeback_cost_usd"].map(lambda d: int(Decimal(d) * 100))).astype(np.int64),
        "dispute_evidence": evidence,
    })


def _resolve_causes(ctx: _Ctx, ev: pd.DataFrame) -> None:
    """cause / cause_source / preventable per METRICS §3: note, order tag, conversation; then inferred; else unknown."""
    from sandbox.ground_truth_support import conversation_causes

    codes = ctx.codes
    conv = conversation_causes(ctx.world.areas["support"], ctx.as_of, codes).set_index("order_id")["cause"] \
        if "support" in ctx.world.areas else pd.Series(dtype=object)
    note = ev["note_cause"].where(ev["note_cause"].isin(codes))
    tag = ev["tag_cause"].where(ev["tag_cause"].isin(codes))
    by_conv = ev["order_id"].map(conv)
    tagged = note.fillna(tag).fillna(by_conv)
    # inferred: the linked return's reason, then a tracking exception of the order, then its cancel reason
    ret = ctx.leaks["returns"]
    reason_cause = ret["return_reason"].map(RETURN_REASON_CAUSE)
    by_refund = pd.Series(reason_cause.to_numpy(), index=ret["refund_id"].astype("Float64")).dropna()
    by_refund = by_refund[~by_refund.index.isna()]
    by_return = pd.Series(reason_cause.to_numpy(), index=ret["return_id"])
    from_return = ev["return_key"].map(by_refund.groupby(level=0).first()) if "return_key" in ev else None
    from_exchange = ev["exchange_return"].map(by_return) if "exchange_return" in ev else None
    inferred = pd.Series(None, index=ev.index, dtype=object)
    for part in (from_return, from_exchange):
        if part is not None:
            inferred = inferred.fillna(part)
    tr = ctx.fulfilment.get("trackings")
    if tr is not None and len(tr):
        lost = tr["subtag"].isin(["Exception_013"]) | (tr["tag"] == "Expired")
        damaged = tr["subtag"].isin(["Exception_012"])
        exc = pd.concat([pd.Series("lost_in_transit", index=tr.loc[lost, "order_id"]),
                         pd.Series("damaged_in_transit", index=tr.loc[damaged & ~lost, "order_id"])])
        inferred = inferred.fillna(ev["order_id"].map(exc.groupby(level=0).first()))
    cancel = ctx.world.orders.set_index("order_id")["cancel_reason"].map(CANCEL_REASON_CAUSE)
    inferred = inferred.fillna(ev["order_id"].map(cancel))
    inferred = inferred.where(inferred.isin(codes))
    fixed = ev["cause"].notna() if "cause" in ev else pd.Series(False, index=ev.index)
    cause = tagged.fillna(inferred).fillna(UNKNOWN)
    source = np.where(tagged.notna(), "tagged", np.where(inferred.notna(), "inferred", "unknown"))
    ev["cause"] = ev["cause"].where(fixed, cause) if "cause" in ev else cause
    ev["cause_source"] = ev["cause_source"].where(fixed, source) if "cause_source" in ev else source
    token = ev["preventable_token"].astype(object).str.lower() if "preventable_token" in ev else None
    default = ev["cause"].map(ctx.preventable_default).fillna(False).astype(bool)
    prev = np.where(token == "yes", True, np.where(token == "no", False, default))
    ev["preventable"] = ev["preventable"].where(fixed, prev).astype(bool) if "preventable" in ev else prev


def _recoveries(ctx: _Ctx) -> pd.Series:
    """order_id → carrier-claim payouts + supplier credits at the clock (reporting cents, at their own dates)."""
    parts = []
    claims = ctx.fulfilment.get("carrier_claims")
    if claims is not None and len(claims):
        paid = claims[(claims["status"] == "paid") & claims["paid_at"].notna()].copy()
        paid["day"] = _local(paid["paid_at"], paid["store_id"], ctx.stores)
        parts.append(pd.Series(ctx.fx.cents(paid["paid_amount_cents"].astype(np.int64), paid["currency"], paid["day"]),
                               index=paid["order_id"].to_numpy()))
    sup = ctx.leaks["supplier_credits"]
    parts.append(pd.Series(ctx.fx.cents(sup["amount_cents"], sup["currency"], sup["issued_date"]),
                           index=sup["order_id"].to_numpy()))
    return pd.concat(parts).groupby(level=0).sum() if parts else pd.Series(dtype=np.int64)


def _return_labels(ctx: _Ctx, ev: pd.DataFrame) -> pd.Series:
    """Merchant-paid return labels of the event's return (refund → its return; exchange → its return)."""
    labels = ctx.leaks["shipping_labels"]
    labels = labels[(labels["direction"] == "return") & labels["return_id"].notna()]
    ret = ctx.leaks["returns"].set_index("return_id")
    per_return = labels.assign(return_id=labels["return_id"].astype(np.int64))
    return_of_refund = pd.Series(ret.index[ret["refund_id"].notna()],
                                 index=ret.loc[ret["refund_id"].notna(), "refund_id"].astype(float).to_numpy())
    key = ev["return_key"].map(return_of_refund.groupby(level=0).first()) if "return_key" in ev else None
    rid = ev["exchange_return"] if "exchange_return" in ev else pd.Series(np.nan, index=ev.index)
    rid = rid.fillna(key) if key is not None else rid
    hit = ev.assign(rid=rid)[rid.notna()].merge(per_return, left_on="rid", right_on="return_id",
                                                 suffixes=("", "_label"))
    cents = ctx.fx.cents(hit["cost_cents"], hit["currency_label"], hit["local_date"])
    return pd.Series(cents, index=hit["event_id"].to_numpy()).groupby(level=0).sum()


def _compliance(ctx: _Ctx, ev: pd.DataFrame, orders: pd.DataFrame) -> None:
    """Value band, first choice, escalation, compliance, cash-before-credit and approval limits (§5)."""
    value = ev["order_id"].map(orders.set_index("order_id")["revenue"])
    ev["order_value"] = value.fillna(0).astype(np.int64)
    m = ctx.matrix.assign(lo=_cents_of(ctx.matrix["min_order_value"]),
                          hi=[int(Decimal(x) * 100) if x else np.iinfo(np.int64).max
                              for x in ctx.matrix["max_order_value"]])
    ev["value_band"] = None
    ev["first_choice"] = None
    allowed = pd.Series("", index=ev.index, dtype=object)
    for row in m.itertuples(index=False):  # one pass per matrix row, not per event
        hit = (ev["cause"] == row.cause) & (ev["order_value"] >= row.lo) & (ev["order_value"] < row.hi)
        ev.loc[hit, "value_band"] = row.value_band
        ev.loc[hit, "first_choice"] = row.first_choice
        allowed[hit] = f";{row.allowed};"
    approvals = _approvals(ctx, ev)
    ev["escalated"] = approvals.map(len).fillna(0).astype(int) > 0
    has_resolution = ev["resolution"].notna()
    ev["compliant"] = pd.Series(np.where(
        has_resolution,
        (ev["resolution"] == ev["first_choice"]).to_numpy()
        | (np.array([f";{r};" in a for r, a in zip(ev["resolution"], allowed)], dtype=bool)
           & ev["escalated"].to_numpy()), None), index=ev.index, dtype=object)
    ev["cash_before_credit"] = ev["resolution"].isin(CASH) & ev["first_choice"].isin(CREDIT_OR_REPLACEMENT)
    amount = ev["cash_refunded"].where(ev["event_type"] == "refund", ev["store_credit_issued"])
    ev["approval_limit"] = ev["staff"].map(ctx.limit)
    over = ev["staff"].notna() & ev["approval_limit"].notna() & (amount > ev["approval_limit"])
    covered = [any(ctx.limit.get(a, -1) >= amt for a in approvers) for approvers, amt in zip(approvals, amount)]
    ev["over_limit_unapproved"] = over & ~np.array(covered, dtype=bool)


def _approvals(ctx: _Ctx, ev: pd.DataFrame) -> pd.Series:
    """Approver handles per event: `approved_by:<staff>` in its own note, or an internal note on the order's
    conversation (visibility 1, at the clock)."""
    pattern = r"approved_by:([A-Za-z0-9._-]+)"
    own = ev["note"].astype(object).where(ev["note"].notna(), "").str.findall(pattern)
    notes = ctx.leaks["internal_notes"]
    conv = ctx.world.areas["support"]["conversations"].set_index("slug")["order_id"] \
        if "support" in ctx.world.areas else pd.Series(dtype=object)
    notes = notes[notes["visibility"] == 1]
    by_order = pd.DataFrame({"order_id": notes["conversation_slug"].map(conv), "who": notes["body"].str.findall(
        pattern)}).dropna(subset=["order_id"]).explode("who").dropna()
    by_order = by_order.groupby(by_order["order_id"].astype(np.int64))["who"].agg(list)
    extra = ev["order_id"].map(by_order)
    return pd.Series([list(a) + (list(b) if isinstance(b, list) else []) for a, b in zip(own, extra)],
                     index=ev.index, dtype=object)


def leak_events(ctx: _Ctx, orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every leak event at the clock with its cost components (reporting cents) and its attribution lines."""
    ref, ref_lines = _refund_events(ctx, orders)
    rep, rep_lines = _replacement_events(ctx)
    sc = _store_credit_events(ctx)
    cb = _chargeback_events(ctx)
    ev = pd.concat([ref, rep, sc, cb], ignore_index=True)
    ev["order_id"] = ev["order_id"].astype(np.int64)
    ev = ev[ev["order_id"].isin(ctx.world.orders.loc[~ctx.world.orders["test"].astype(bool), "order_id"])]
    ev = ev.reset_index(drop=True)
    for col in ("cash_refunded", "store_credit_issued", "store_credit_cost", "replacement_cost", "restocked_cogs",
                "chargeback_cost"):
        ev[col] = ev[col].fillna(0).astype(np.int64) if col in ev else 0
    for col in ("note_cause", "tag_cause", "preventable_token", "cause", "cause_source", "preventable",
                "exchange_return", "return_key", "dispute_evidence"):
        if col not in ev:
            ev[col] = None
    _resolve_causes(ctx, ev)
    ev["return_label_cost"] = ev["event_id"].map(_return_labels(ctx, ev)).fillna(0).astype(np.int64)
    # recoveries of an order go to its earliest leak event at the clock
    ev = ev.sort_values(["created_at", "event_id"], kind="stable").reset_index(drop=True)
    first = ~ev["order_id"].duplicated()
    ev["recoveries"] = np.where(first, ev["order_id"].map(_recoveries(ctx)).fillna(0), 0).astype(np.int64)
    ev["leak_cost"] = (ev["cash_refunded"] + ev["store_credit_cost"] + ev["replacement_cost"]
                       + ev["return_label_cost"] - ev["restocked_cogs"] - ev["recoveries"] + ev["chargeback_cost"])
    ev["market"] = ev["store_id"].map(ctx.market)
    ev["period_start"] = _month(ev["local_date"])
    _compliance(ctx, ev, orders)
    lines = _attribution(ctx, ev, pd.concat([ref_lines, rep_lines], ignore_index=True))
    return ev, lines


def _attribution(ctx: _Ctx, ev: pd.DataFrame, own_lines: pd.DataFrame) -> pd.DataFrame:
    """Leak cost split over SKUs by line value (refunded/replaced lines; the order's lines otherwise)."""
    li = ctx.world.line_items
    order_lines = pd.DataFrame({"order_id": li["order_id"], "sku": li["sku"],
                                "weight": (li["unit_price_cents"] * li["quantity"] - li["discount_cents"]).astype(
                                    float)})
    rest = ev.loc[~ev["event_id"].isin(own_lines["event_id"]), ["event_id", "order_id"]]
    lines = pd.concat([own_lines[own_lines["event_id"].isin(ev["event_id"])],
                       rest.merge(order_lines, on="order_id")[["event_id", "sku", "weight"]]], ignore_index=True)
    total = lines.groupby("event_id")["weight"].transform("sum")
    lines["share"] = np.where(total > 0, lines["weight"] / total.where(total > 0, 1), 1.0)
    lines = lines.merge(ev[["event_id", "leak_cost", "preventable", "cause", "store_id", "period_start",
                            "local_date"]], on="event_id")
    lines["leak_cost"] = lines["leak_cost"] * lines["share"]
    lines["supplier"] = lines["sku"].map(ctx.supplier).fillna("unmapped")
    return lines.drop(columns=["weight"])


# --------------------------------------------------------------------------------------------------- kpis


def _carrier_of_orders(ctx: _Ctx) -> pd.Series:
    fl = ctx.fulfilment.get("fulfillments")
    if fl is None:
        return pd.Series(dtype=object)
    first = fl.sort_values(["created_at", "fulfillment_id"]).groupby("order_id").head(1)
    return first.set_index("order_id")["tracking_company"]


def _rate(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _returns_frame(ctx: _Ctx) -> pd.DataFrame:
    """Returns processed (closed with an outcome) at the clock: cycle days, provider, local month of closing."""
    ret = ctx.leaks["returns"]
    ret = ret[ret["closed_at"].notna()].copy()
    ret["cycle_days"] = (ret["closed_at"] - ret["requested_at"]).dt.total_seconds() / 86_400
    ret["period_start"] = _month(_local(ret["closed_at"], ret["store_id"], ctx.stores))
    return ret


def compute_kpis_and_tables(world: Any, sheets_dir: Path) -> dict[str, pd.DataFrame]:
    """`kpis` rows of area `leaks` plus the truth tables (leak events, lines, leakage by dimension, fixes …)."""
    ctx = _Ctx(world, sheets_dir)
    orders = _paid_orders(ctx)
    ev, lines = leak_events(ctx, orders)
    carrier = _carrier_of_orders(ctx)
    ev["carrier"] = ev["order_id"].map(carrier).fillna("unshipped")
    ev["carrier_market"] = ev["carrier"] + "/" + ev["market"]
    ev["agent"] = ev["staff"].fillna("none")
    lines = lines.merge(ev[["event_id", "market", "carrier", "carrier_market", "agent"]], on="event_id")
    returns = _returns_frame(ctx)
    rows = _kpi_rows(ev, lines, orders, returns)
    by_dim = leakage_by_dimension(ctx, ev, lines, orders)
    return {
        "kpis": pd.DataFrame(rows, columns=KPI_COLUMNS).astype(object),
        "leak_events_full": _event_table(ev),
        "leak_event_lines": lines[["event_id", "sku", "supplier", "store_id", "market", "carrier", "cause",
                                   "agent", "period_start", "share", "leak_cost"]].assign(
            leak_cost=lambda f: f["leak_cost"] / 100).sort_values(["event_id", "sku"]).reset_index(drop=True),
        "leakage_by_dimension": by_dim,
        "fix_candidates": fix_candidates(ctx, by_dim, ev, lines),
        "over_limit_unapproved": _event_table(ev[ev["over_limit_unapproved"]])[
            ["event_id", "event_type", "order_id", "store_id", "local_date", "staff", "approval_limit",
             "cash_refunded", "store_credit_issued"]],
        "returns_processed": returns[["return_id", "order_id", "store_id", "returns_provider", "outcome",
                                      "return_reason", "requested_at", "received_at", "closed_at", "cycle_days",
                                      "period_start"]].sort_values("return_id").reset_index(drop=True),
        "order_profit": orders[["order_id", "store_id", "period_start", "revenue", "shipping", "cogs", "label_cost",
                                "payment_fees", "gross_profit"]].assign(
            **{c: (lambda f, c=c: f[c] / 100) for c in ("revenue", "shipping", "cogs", "label_cost", "payment_fees",
                                                        "gross_profit")}).sort_values("order_id").reset_index(
            drop=True),
    }


def _event_table(ev: pd.DataFrame) -> pd.DataFrame:
    out = ev[[c for c in EVENT_COLUMNS if c in ev]].copy()
    for col in MONEY_COLUMNS:
        if col in out:
            out[col] = out[col].astype(float) / 100
    out["created_at"] = pd.to_datetime(out["created_at"], utc=True)
    out["preventable"] = out["preventable"].astype(bool)
    out["compliant"] = out["compliant"].astype("boolean")
    return out.sort_values("event_id").reset_index(drop=True)


def _kpi_rows(ev: pd.DataFrame, lines: pd.DataFrame, orders: pd.DataFrame, returns: pd.DataFrame) -> list[tuple]:
    """Per store × month and portfolio (pooled): full gross profit, refund/leak cost, §5 counts, §10 returns.

    Rows exist for every store-month with a paid order, a leak event or a processed return; vectorised per level.
    `return_cycle_days_p50` has dimension NULL only (METRICS.md §13); by-provider cycle times stay in the
    `returns_processed` table (Shopify's Return does not expose the provider, so the warehouse cannot split by it).
    """
    ev = ev.assign(
        prevent=np.where(ev["preventable"].astype(bool), ev["leak_cost"], 0),
        covered=np.where(ev["cause_source"] != "unknown", ev["leak_cost"], 0),
        tagged=np.where(ev["cause_source"] == "tagged", ev["leak_cost"], 0),
        resolved=ev["resolution"].notna().astype(int),
        compliant_n=ev["compliant"].fillna(False).astype(bool).astype(int),
        cbc=ev["cash_before_credit"].astype(int), olu=ev["over_limit_unapproved"].astype(int))
    returns = returns.assign(exchange=(returns["outcome"] == "exchange").astype(int),
                             refund=(returns["outcome"] == "refund").astype(int))
    rows: list[tuple] = []
    for keys in (["store_id", "period_start"], ["period_start"]):
        gp = orders.groupby(keys)["gross_profit"].sum()
        agg = ev.groupby(keys)[["leak_cost", "prevent", "covered", "tagged", "resolved", "compliant_n", "cbc",
                                "olu"]].sum()
        rt = returns.groupby(keys).agg(p50=("cycle_days", "median"), exchange=("exchange", "sum"),
                                       refund=("refund", "sum"))
        index = gp.index.union(agg.index).union(rt.index)
        gp, agg, rt = gp.reindex(index, fill_value=0), agg.reindex(index, fill_value=0), rt.reindex(index)
        for key in index:
            store_id, month = (key if len(keys) == 2 else (None, key))
            g, a, r = int(gp[key]), agg.loc[key], rt.loc[key]
            total = int(a["leak_cost"])
            exch, refd = (0, 0) if pd.isna(r["exchange"]) else (int(r["exchange"]), int(r["refund"]))
            values = [
                ("gross_profit", g / 100), ("refund_cost", total / 100),
                ("refund_cost_pct_of_profit", _rate(total, g)),
                ("preventable_refund_cost", int(a["prevent"]) / 100),
                ("preventable_share", _rate(int(a["prevent"]), total)),
                ("cause_coverage", _rate(int(a["covered"]), total)), ("tagged_share", _rate(int(a["tagged"]), total)),
                ("matrix_compliance_rate", _rate(int(a["compliant_n"]), int(a["resolved"]))),
                ("cash_before_credit_count", float(a["cbc"])), ("over_limit_unapproved_count", float(a["olu"])),
                ("return_cycle_days_p50", None if pd.isna(r["p50"]) else float(r["p50"])),
                ("exchange_share", _rate(exch, exch + refd)),
            ]
            rows += [(metric, store_id, month, "month", None, None, value) for metric, value in values]
        cause = ev.groupby([*keys, "cause"])["leak_cost"].sum()
        for key, cents in cause.items():
            *k, value = key
            store_id, month = (k[0], k[1]) if len(keys) == 2 else (None, k[0])
            rows.append(("refund_cost", store_id, month, "month", "cause", value, int(cents) / 100))
            rows.append(("refund_cost_pct_of_profit", store_id, month, "month", "cause", value,
                         _rate(int(cents), int(gp[tuple(k) if len(keys) == 2 else k[0]]))))
        for dim in KPI_DIMENSIONS:
            cost = lines.groupby([*keys, dim])["leak_cost"].sum()
            for key, cents in cost.items():
                *k, value = key
                store_id, month = (k[0], k[1]) if len(keys) == 2 else (None, k[0])
                rows.append(("leak_cost", store_id, month, "month", dim, value, round(float(cents)) / 100))
    return rows


# --------------------------------------------------------------------------------------------------- §4 tables


def _windows(as_of: pd.Timestamp) -> dict[str, tuple[date, date]]:
    """Inclusive local-date windows: the last full month before the clock's date, and the trailing 90 days."""
    today = as_of.date()
    first = today.replace(day=1)
    prev_end = first - pd.Timedelta(days=1)
    return {"last_full_month": (prev_end.replace(day=1), prev_end),
            "trailing_90d": (today - pd.Timedelta(days=89), today)}


def _revenue_lines(ctx: _Ctx, orders: pd.DataFrame) -> pd.DataFrame:
    """Net revenue per order line (reporting cents, at paid date) with every dimension of §4."""
    li = ctx.world.line_items.merge(orders[["order_id", "store_id", "currency", "paid_date"]], on="order_id")
    li["revenue"] = ctx.fx.cents(li["unit_price_cents"] * li["quantity"] - li["discount_cents"], li["currency"],
                                 li["paid_date"])
    li["supplier"] = li["sku"].map(ctx.supplier).fillna("unmapped")
    li["market"] = li["store_id"].map(ctx.market)
    li["carrier"] = li["order_id"].map(_carrier_of_orders(ctx)).fillna("unshipped")
    li["carrier_market"] = li["carrier"] + "/" + li["market"]
    li["store"] = li["store_id"]
    return li


def leakage_by_dimension(ctx: _Ctx, ev: pd.DataFrame, lines: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """§4: per dimension × window: leak cost, revenue, leak_rate, share of total leak, Pareto rank (by cost)."""
    rev = _revenue_lines(ctx, orders)
    lines = lines.assign(store=lines["store_id"])
    frames = []
    for window, (lo, hi) in _windows(ctx.as_of).items():
        in_ev = lines[(lines["local_date"] >= lo) & (lines["local_date"] <= hi)]
        in_rev = rev[(rev["paid_date"] >= lo) & (rev["paid_date"] <= hi)]
        total_cost = float(in_ev["leak_cost"].sum())
        total_rev = float(in_rev["revenue"].sum())
        for dim in DIMENSIONS:
            cost = in_ev.groupby(dim)["leak_cost"].sum()
            prevent = in_ev[in_ev["preventable"].astype(bool)].groupby(dim)["leak_cost"].sum()
            if dim in ("cause", "agent"):
                revenue = pd.Series(total_rev, index=cost.index)  # not a property of the sale: whole revenue
            else:
                revenue = in_rev.groupby(dim)["revenue"].sum().reindex(cost.index.union(
                    in_rev[dim].dropna().unique())).fillna(0)
                cost = cost.reindex(revenue.index).fillna(0)
            frame = pd.DataFrame({"time_window": window, "dimension": dim, "dimension_value": cost.index.astype(str),
                                  "leak_cost": cost.round().to_numpy() / 100,
                                  "preventable_leak_cost": prevent.reindex(cost.index).fillna(0).round().to_numpy()
                                  / 100, "revenue": revenue.reindex(cost.index).to_numpy() / 100})
            frame["leak_rate"] = np.where(frame["revenue"] > 0, frame["leak_cost"] / frame["revenue"].where(
                frame["revenue"] > 0, 1), np.nan)
            frame["share"] = frame["leak_cost"] / (total_cost / 100) if total_cost else np.nan
            frame = frame.sort_values(["leak_cost", "dimension_value"], ascending=[False, True], kind="stable")
            frame["pareto_rank"] = np.arange(1, len(frame) + 1)
            frame["cumulative_share"] = frame["share"].cumsum()
            frame["portfolio_leak_rate"] = total_cost / total_rev if total_rev else np.nan
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def fix_candidates(ctx: _Ctx, by_dim: pd.DataFrame, ev: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """§4: slices with preventable leak > 0 and leak_rate ≥ 2 × the portfolio rate, ranked by excess leak."""
    frame = by_dim[(by_dim["preventable_leak_cost"] > 0) & by_dim["leak_rate"].notna()
                   & (by_dim["leak_rate"] >= 2 * by_dim["portfolio_leak_rate"])
                   & ~by_dim["dimension"].isin(["cause", "agent"])].copy()
    frame["excess_leak"] = (frame["leak_rate"] - frame["portfolio_leak_rate"]) * frame["revenue"]
    # dominant cause of a slice: the cause with the most leak cost on its lines in the window (ties: first by
    # name); one grouping per window and dimension, not one scan of the lines per slice
    dominant = pd.Series(UNKNOWN, index=frame.index, dtype=object)
    lines = lines.assign(store=lines["store_id"])
    for window, (lo, hi) in _windows(ctx.as_of).items():
        in_window = lines[(lines["local_date"] >= lo) & (lines["local_date"] <= hi)]
        for dim in frame["dimension"].unique():
            rows = (frame["time_window"] == window) & (frame["dimension"] == dim)
            if not rows.any() or in_window.empty:
                continue
            cost = in_window.groupby([in_window[dim].astype(str).rename("value"), "cause"])["leak_cost"].sum()
            cost = cost.reset_index().sort_values(["value", "leak_cost", "cause"], ascending=[True, False, True],
                                                  kind="stable")
            top = cost.drop_duplicates("value").set_index("value")["cause"]
            dominant[rows] = frame.loc[rows, "dimension_value"].map(top).fillna(UNKNOWN)
    frame["dominant_cause"] = dominant
    frame["owner"] = frame["dominant_cause"].map(ctx.owner).fillna("support")
    frame["suggested_action"] = frame["owner"].map(OWNER_ACTION)
    frame = frame.sort_values(["time_window", "excess_leak", "dimension", "dimension_value"],
                              ascending=[True, False, True, True], kind="stable")
    frame["rank"] = frame.groupby("time_window").cumcount() + 1
    return frame[["time_window", "rank", "dimension", "dimension_value", "leak_cost", "preventable_leak_cost",
                  "revenue",
                  "leak_rate", "portfolio_leak_rate", "excess_leak", "dominant_cause", "owner",
                  "suggested_action"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------- entry points

_CACHE: list[Any] = []


def compute(world: Any, sheets_dir: Path) -> dict[str, pd.DataFrame]:
    """Memoised `compute_kpis_and_tables` for one world object and clock (the build calls it three times)."""
    from sandbox.world import source_world, world_at

    source = source_world(world)
    if source is not world and world_at(source) is world:
        world = source  # the view of the world at its clock (the quality checks' world) shares the world's truth
    key = (world.meta.get("as_of"), str(sheets_dir))
    if _CACHE and _CACHE[0] is world and _CACHE[1] == key:
        return _CACHE[2]
    result = compute_kpis_and_tables(world, sheets_dir)
    _CACHE[:] = [world, key, result]
    return result


def compute_kpis(world: Any, sheets_dir: Path) -> pd.DataFrame:
    """The `leaks` area's KPI rows (long format)."""
    return compute(world, sheets_dir)["kpis"]


def planted_signals(world: Any) -> pd.DataFrame:
    """What the generator planted, as (signal, dimension, dimension_value) rows for the ground-truth file."""
    from sandbox.world.fulfilment import planted_signals as fulfilment_signals
    from sandbox.world.presets import PLANTED_DEFECT_SUPPLIER

    ful = fulfilment_signals(world)
    carrier, market = ful["carrier_market"]
    staff = world.areas["support"]["staff"]
    agent = staff.loc[staff["skips_templates"].astype(bool), "name"]
    rows = [("defect_supplier", "supplier", PLANTED_DEFECT_SUPPLIER),
            ("lossy_carrier_market", "carrier_market", f"{carrier}/{market}"),
            ("slow_store", "store", str(ful["slow_store"]))]
    rows += [("template_skipping_agent", "agent", a.lower().replace(" ", "-")) for a in agent]
    disputes = world.areas.get("payments", {}).get("disputes")
    if disputes is not None:
        rows += [(f"dispute_{p}", "dispute", d) for d, p in zip(disputes["dispute_id"], disputes["planted"])
                 if isinstance(p, str)]
    return pd.DataFrame(rows, columns=["signal", "dimension", "dimension_value"])
