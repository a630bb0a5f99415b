"""Ground truth for fulfilment SLA, carrier performance and carrier claims (METRICS.md §7–§8).

Independent of the dbt models and of the generator's internals: it reads the base world at the clock
(`world_at`), the fulfilment tables at the clock (`sandbox.world.fulfilment.at_clock`) and the ops sheets, and
applies METRICS.md with the "Metric rules" section of `sandbox/world/fulfilment.md`. The business-hours clock
is written out step by step on local wall-clock datetimes (`BusinessCalendar`), one order at a time.
Money is Decimal / integer cents; the FX lookup is the slice's `FxRates`.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sandbox.ground_truth import KPI_COLUMNS, FxRates

SLA_HOURS = 48
SILENCE = timedelta(days=10)
LOST_SUBTAGS = frozenset({"Exception_013"})
DAMAGED_SUBTAGS = frozenset({"Exception_012"})
DECIDED = frozenset({"paid", "rejected"})
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MONTH_METRICS = ("orders_within_48h_rate", "supplier_sla_hit_rate", "carrier_on_time_rate",
                 "carrier_transit_days_p50", "eligible_claim_parcels", "claim_filing_rate",
                 "claim_recovery_rate", "compensation_recovered")
ASOF_METRICS = ("open_over_48h_count", "unfiled_past_window_count")


# ------------------------------------------------------------------------------------------- business clock


def parse_business_days(text: str) -> frozenset[int]:
    """`Mon-Fri`, `Mon-Sat` or a comma list (`Mon,Tue,Thu`) -> weekday numbers (Mon=0)."""
    days: set[int] = set()
    for part in (p.strip().lower()[:3] + p.strip().lower()[3:] for p in (text or "Mon-Fri").split(",")):
        if "-" in part:
            lo, hi = (WEEKDAYS[x.strip()[:3]] for x in part.split("-"))
            days.update(range(lo, hi + 1))
        elif part:
            days.add(WEEKDAYS[part[:3]])
    return frozenset(days)


@dataclass(frozen=True)
class BusinessCalendar:
    """A store's business clock: whole local days, weekends and holidays excluded, order cut-off."""

    timezone: str
    cutoff: time
    weekdays: frozenset[int]
    holidays: frozenset[date]

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def local(self, instant: Any) -> datetime:
        """A UTC instant as naive local wall-clock time."""
        return pd.Timestamp(instant).tz_convert(self.timezone).tz_localize(None).to_pydatetime()

    def clock_start(self, paid_local: datetime) -> datetime:
        """`paid_at` if on a business day at or before the cut-off, else 00:00 of the next business day."""
        if self.is_business_day(paid_local.date()) and paid_local.time() <= self.cutoff:
            return paid_local
        return datetime.combine(self.next_business_day(paid_local.date()), time())

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The earliest local instant at which `hours` business hours have elapsed since `start`."""
        remaining = timedelta(hours=hours)
        current = start
        while True:
            day_end = datetime.combine(current.date() + timedelta(days=1), time())
            if self.is_business_day(current.date()):
                if remaining <= day_end - current:
                    return current + remaining
                remaining -= day_end - current
            current = day_end

    def business_hours_between(self, start: datetime, end: datetime) -> float:
        """Business hours in [start, end) (0 when end <= start)."""
        total = timedelta()
        current = start
        while current < end:
            segment_end = min(datetime.combine(current.date() + timedelta(days=1), time()), end)
            if self.is_business_day(current.date()):
                total += segment_end - current
            current = segment_end
        return total.total_seconds() / 3600


# ------------------------------------------------------------------------------------------- inputs


def _rows(frame: pd.DataFrame) -> Iterator[Any]:
    """Rows as named tuples, reading each column once with `tolist` (fast for Arrow-backed columns)."""
    row = namedtuple("row", list(frame.columns), rename=True)  # type: ignore[misc]
    return (row(*values) for values in zip(*(frame[c].tolist() for c in frame.columns)))


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as a stripped string ('' for missing), like a CSV read with dtype=str."""
    return frame.astype(object).where(frame.notna(), "").astype(str).apply(lambda c: c.str.strip())


def _load_sheets(sheets: dict[str, pd.DataFrame] | Path | str) -> dict[str, pd.DataFrame]:
    """Sheets as text frames, from a dict (keys with or without `sheet:`) or a directory of CSVs."""
    if isinstance(sheets, (str, Path)):
        return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in Path(sheets).glob("*.csv")}
    return {k.removeprefix("sheet:"): _text_frame(v) for k, v in sheets.items()}


def _calendars(stores: pd.DataFrame, holidays: pd.DataFrame) -> dict[str, BusinessCalendar]:
    """One calendar per store (holidays by store_id; rows with an empty store_id apply to their market)."""
    cals = {}
    for s in _rows(stores):
        mine = holidays[(holidays["store_id"] == s.store_id)
                        | ((holidays["store_id"] == "") & (holidays["market"] == s.market))]
        hh, mm = (int(x) for x in str(s.order_cutoff_local).split(":")[:2])
        cals[s.store_id] = BusinessCalendar(
            timezone=s.timezone, cutoff=time(hh, mm), weekdays=parse_business_days(s.business_days),
            holidays=frozenset(date.fromisoformat(d) for d in mine["date"]))
    return cals


def _fx(sheets: dict[str, pd.DataFrame], reporting: str) -> FxRates:
    rows = ((r.currency, date.fromisoformat(r.date), Decimal(r.rate_to_usd))
            for r in _rows(sheets["fx_rates"]))
    return FxRates(rows, reporting)


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _col_utc(series: pd.Series) -> pd.Series:
    series = pd.to_datetime(series)
    return series.dt.tz_localize("UTC") if series.dt.tz is None else series.dt.tz_convert("UTC")


def _local_naive(stamps: pd.Series, store_ids: pd.Series, cals: dict[str, BusinessCalendar]) -> list[Any]:
    """UTC stamps as naive local datetimes of each row's store (None when missing)."""
    out: list[Any] = [None] * len(stamps)
    stamps = _col_utc(pd.Series(stamps).reset_index(drop=True))
    store_ids = pd.Series(store_ids).reset_index(drop=True)
    for store_id, idx in store_ids.groupby(store_ids).groups.items():
        local = stamps.loc[idx].dt.tz_convert(cals[store_id].timezone).dt.tz_localize(None)
        for i, value in zip(idx, local):
            out[i] = None if pd.isna(value) else value.to_pydatetime()
    return out


@dataclass
class _Ctx:
    """Everything the metric functions share."""

    as_of: pd.Timestamp
    cals: dict[str, BusinessCalendar]
    stores: pd.DataFrame
    market: dict[str, str]
    orders: pd.DataFrame  # paid, non-test, non-cancelled orders with local start / deadline

    def as_of_local(self, store_id: str) -> datetime:
        return self.cals[store_id].local(self.as_of)


def _paid_orders(world: Any, as_of: pd.Timestamp, cals: dict[str, BusinessCalendar]) -> pd.DataFrame:
    """Paid, non-test, non-cancelled orders with paid_local, start, deadline and period_start."""
    tx = world.transactions
    tx = tx[tx["kind"].isin(["SALE", "CAPTURE"]) & (tx["status"] == "SUCCESS")]
    tx = tx[_col_utc(tx["created_at"]) <= as_of]
    paid = _col_utc(tx["created_at"]).groupby(tx["order_id"]).min()
    orders = world.orders
    cancelled = orders["cancelled_at"].notna() & (_col_utc(orders["cancelled_at"]) <= as_of)
    orders = orders[~orders["test"].astype(bool) & ~cancelled & orders["order_id"].isin(paid.index)]
    orders = orders[["order_id", "store_id"]].copy()
    orders["paid_at"] = orders["order_id"].map(paid)
    paid_local = _local_naive(orders["paid_at"], orders["store_id"], cals)
    start, deadline = [], []
    for store_id, local in zip(orders["store_id"], paid_local):
        cal = cals[store_id]
        begin = cal.clock_start(local)
        start.append(begin)
        deadline.append(cal.add_business_hours(begin, SLA_HOURS))
    orders["paid_local"], orders["start"], orders["deadline"] = paid_local, start, deadline
    orders["period_start"] = [d.date().replace(day=1) for d in paid_local]
    return orders.reset_index(drop=True)


# ------------------------------------------------------------------------------------------- §7 orders


def _line_ship_times(world: Any, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    """Per order line: the created_at of the fulfillment that completed its quantity (NaT if not yet)."""
    fl = tables["fulfillments"]
    fl = fl[(_col_utc(fl["created_at"]) <= as_of) & (fl["status"] == "SUCCESS")]
    fli = tables["fulfillment_line_items"].merge(fl[["fulfillment_id", "created_at"]], on="fulfillment_id")
    fli = fli.assign(created_at=_col_utc(fli["created_at"]))
    fli = fli.sort_values(["line_item_id", "created_at", "fulfillment_id"], kind="stable")
    fli["shipped_qty"] = fli.groupby("line_item_id")["quantity"].cumsum()
    lines = world.line_items[["line_item_id", "order_id", "quantity"]]
    joined = fli.merge(lines.rename(columns={"quantity": "ordered"}), on="line_item_id")
    done = joined[joined["shipped_qty"] >= joined["ordered"]].groupby("line_item_id")["created_at"].min()
    first = joined.groupby("line_item_id")["created_at"].min()
    out = lines.copy()
    out["line_shipped_at"] = out["line_item_id"].map(done)
    out["line_first_at"] = out["line_item_id"].map(first)
    return out


def _order_shipping(ctx: _Ctx, lines: pd.DataFrame) -> pd.DataFrame:
    """Orders with shipped_at (full shipment; NaT until every line is complete) and first_shipped_at."""
    grouped = lines.groupby("order_id")
    complete = grouped["line_shipped_at"].count() == grouped.size()
    last = grouped["line_shipped_at"].max()
    orders = ctx.orders.copy()
    orders["shipped_at"] = orders["order_id"].map(last.where(complete))
    orders["first_shipped_at"] = orders["order_id"].map(grouped["line_first_at"].min())
    return orders


def _within_48h(ctx: _Ctx, orders: pd.DataFrame) -> pd.DataFrame:
    """Per order: included (deadline passed or shipped) and hit (shipped_at <= deadline), local clock."""
    inc, hit = [], []
    as_of_local = {s: ctx.as_of_local(s) for s in ctx.cals}
    shipped_local = _local_naive(orders["shipped_at"], orders["store_id"], ctx.cals)
    for row, shipped in zip(_rows(orders), shipped_local):
        inc.append(shipped is not None or row.deadline <= as_of_local[row.store_id])
        hit.append(shipped is not None and shipped <= row.deadline)
    return orders.assign(included=inc, hit=hit)


def _open_over_48h(ctx: _Ctx, orders: pd.DataFrame) -> dict[str, int]:
    """Per store: paid orders not fully shipped at the clock whose business-hours age exceeds 48."""
    counts: dict[str, int] = defaultdict(int)
    for row in _rows(orders[orders["shipped_at"].isna()]):
        cal = ctx.cals[row.store_id]
        if cal.business_hours_between(row.start, ctx.as_of_local(row.store_id)) > SLA_HOURS:
            counts[row.store_id] += 1
    return counts


# ------------------------------------------------------------------------------------------- tracking facts


def _parcels(ctx: _Ctx, world: Any, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Trackings at the clock joined to their fulfillment, order store and carrier sheet row, with local dates."""
    tr = tables["trackings"]
    tr = tr[_col_utc(tr["created_at"]) <= ctx.as_of]
    fl = tables["fulfillments"][["fulfillment_id", "order_id", "location_id", "created_at"]]
    parcels = tr.drop(columns=[c for c in ("order_id", "store_id", "market") if c in tr.columns])
    parcels = parcels.merge(fl.rename(columns={"created_at": "fulfilled_at"}), on="fulfillment_id")
    parcels = parcels.merge(world.orders[["order_id", "store_id"]], on="order_id")
    parcels["market"] = parcels["store_id"].map(ctx.market)
    for col in ("created_at", "shipment_pickup_date", "shipment_delivery_date", "updated_at", "fulfilled_at"):
        parcels[col] = _col_utc(parcels[col])
    parcels["pickup_date"] = _local_date_col(ctx, parcels, "shipment_pickup_date")
    parcels["delivery_date"] = _local_date_col(ctx, parcels, "shipment_delivery_date")
    parcels["created_date"] = _local_date_col(ctx, parcels, "created_at")
    return parcels.reset_index(drop=True)


def _local_date_col(ctx: _Ctx, frame: pd.DataFrame, col: str) -> list[date | None]:
    return [None if v is None else v.date() for v in _local_naive(frame[col], frame["store_id"], ctx.cals)]


def _carrier_sheet(sheets: dict[str, pd.DataFrame]) -> dict[tuple[str, str, str], tuple[int, bool, int]]:
    """(carrier, market, service) -> (transit_sla_days, guaranteed, claim_window_days)."""
    return {(r.carrier, r.market, r.service): (int(r.transit_sla_days), r.guaranteed.lower() == "true",
                                               int(r.claim_window_days))
            for r in _rows(sheets["carriers"])}


def _claim_windows(sheets: dict[str, pd.DataFrame]) -> dict[tuple[str, str], int]:
    """(carrier, market) -> claim window days (the largest over the carrier's services in the market)."""
    out: dict[tuple[str, str], int] = {}
    for r in _rows(sheets["carriers"]):
        key = (r.carrier, r.market)
        out[key] = max(out.get(key, 0), int(r.claim_window_days))
    return out


def _carrier_rows(ctx: _Ctx, parcels: pd.DataFrame, sheet: dict) -> pd.DataFrame:
    """Delivered parcels with transit_days and on_time, bucketed by local month of delivery."""
    done = parcels[parcels["delivery_date"].notna() & parcels["pickup_date"].notna()].copy()
    transit, on_time = [], []
    for r in _rows(done):
        transit.append((r.delivery_date - r.pickup_date).days)
        edd = _as_date(r.first_estimated_delivery)
        if edd is None:
            sla = sheet.get((r.slug, r.market, r.service), (None,))[0]
            edd = None if sla is None else r.pickup_date + timedelta(days=sla)
        on_time.append(None if edd is None else r.delivery_date <= edd)
    done["transit_days"], done["on_time"] = transit, on_time
    done["period_start"] = [d.replace(day=1) for d in done["delivery_date"]]
    return done


def _as_date(value: Any) -> date | None:
    if value is None or (not isinstance(value, (date, str)) and pd.isna(value)) or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# ------------------------------------------------------------------------------------------- §7 supplier


def _supplier_lines(ctx: _Ctx, world: Any, tables: dict[str, pd.DataFrame], parcels: pd.DataFrame,
                    sheets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Lines fulfilled from a supplier location at the clock with dispatch / transit outcomes (None = unknown)."""
    loc = tables["locations"]
    sup_loc = loc[loc["kind"] == "supplier"].set_index("location_id")["supplier_id"]
    p = parcels[parcels["location_id"].isin(sup_loc.index)]
    fli = tables["fulfillment_line_items"].merge(p, on="fulfillment_id")
    fli = fli.sort_values(["line_item_id", "fulfilled_at", "fulfillment_id"], kind="stable")
    fli = fli.drop_duplicates("line_item_id")
    fli = fli.merge(ctx.orders[["order_id", "start", "period_start"]], on="order_id")
    dispatch_sla = {r.supplier_id: int(r.dispatch_sla_business_days) for r in _rows(sheets["suppliers"])}
    transit_sla = {(r.supplier_id, r.market): int(r.transit_sla_days)
                   for r in _rows(sheets["supplier_transit_sla"])}
    as_of_dates = {s: c.local(ctx.as_of).date() for s, c in ctx.cals.items()}
    disp, trans = [], []
    fulfilled_local = _local_naive(fli["fulfilled_at"], fli["store_id"], ctx.cals)
    supplier_of = sup_loc.to_dict()
    for r, fulfilled in zip(_rows(fli), fulfilled_local):
        cal = ctx.cals[r.store_id]
        supplier = supplier_of[r.location_id]
        deadline = cal.add_business_hours(r.start, 24 * dispatch_sla[supplier])
        disp.append(fulfilled <= deadline)
        sla = transit_sla[(supplier, r.market)]
        if r.delivery_date is not None and r.pickup_date is not None:
            trans.append((r.delivery_date - r.pickup_date).days <= sla)
        elif r.pickup_date is not None and as_of_dates[r.store_id] > r.pickup_date + timedelta(days=sla):
            trans.append(False)
        else:
            trans.append(None)
    return fli.assign(dispatch_ok=disp, transit_ok=trans)


# ------------------------------------------------------------------------------------------- §8 claims


def _leak_damaged(world: Any, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp,
                  codes: set[str]) -> set[int]:
    """Fulfillment ids carrying a line refunded with cause damaged_in_transit (note beats single-refund tag)."""
    rf = world.refunds[_col_utc(world.refunds["created_at"]) <= as_of]
    per_order = rf.groupby("order_id")["refund_id"].transform("size")
    causes = []
    for note, tag, n in zip(rf["note_cause"], rf["tag_cause"], per_order):
        if isinstance(note, str) and note in codes:
            causes.append(note)
        elif n == 1 and isinstance(tag, str) and tag in codes:
            causes.append(tag)
        else:
            causes.append("unknown")
    damaged = rf[np.array(causes, dtype=object) == "damaged_in_transit"]
    rli = world.refund_line_items[world.refund_line_items["refund_id"].isin(damaged["refund_id"])]
    fli = tables["fulfillment_line_items"]
    return set(fli.loc[fli["line_item_id"].isin(rli["line_item_id"]), "fulfillment_id"])


def _last_checkpoints(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.Timestamp]:
    cp = tables["checkpoints"]
    times = _col_utc(cp["checkpoint_time"])
    return times[times <= as_of].groupby(cp.loc[times <= as_of, "tracking_id"]).max().to_dict()


def _eligible(ctx: _Ctx, world: Any, tables: dict[str, pd.DataFrame], parcels: pd.DataFrame,
              carrier_rows: pd.DataFrame, sheet: dict, codes: set[str]) -> pd.DataFrame:
    """Claim-eligible parcels at the clock with claim_type, bucketed by local month of pickup (else creation)."""
    last_cp = _last_checkpoints(tables, ctx.as_of)
    leak = _leak_damaged(world, tables, ctx.as_of, codes)
    transit = dict(zip(carrier_rows["tracking_id"], carrier_rows["transit_days"]))
    kinds = []
    for r in _rows(parcels):
        kinds.append(_eligibility(r, ctx.as_of, last_cp.get(r.tracking_id), r.fulfillment_id in leak,
                                  transit.get(r.tracking_id), sheet))
    out = parcels.assign(claim_type=kinds)
    out = out[out["claim_type"].notna()].copy()
    base = [p if p is not None else c for p, c in zip(out["pickup_date"], out["created_date"])]
    out["base_date"] = base
    out["period_start"] = [d.replace(day=1) for d in base]
    return out


def _eligibility(r: Any, as_of: pd.Timestamp, last_cp: Any, leak_damaged: bool, transit_days: int | None,
                 sheet: dict) -> str | None:
    """Claim type of one parcel at the clock (lost / damaged / delayed) or None."""
    if r.tag == "Exception" and r.subtag in LOST_SUBTAGS:
        return "lost"
    if r.tag == "Exception" and r.subtag in DAMAGED_SUBTAGS:
        return "damaged"
    if r.tag == "Expired":
        return "lost"
    silent_since = last_cp if last_cp is not None and not pd.isna(last_cp) else None
    if (not pd.isna(r.shipment_pickup_date) and pd.isna(r.shipment_delivery_date)
            and r.tag not in ("Delivered", "Exception") and silent_since is not None
            and as_of - silent_since >= SILENCE):
        return "lost"
    if leak_damaged:
        return "damaged"
    sla, guaranteed, _ = sheet.get((r.slug, r.market, r.service), (None, False, None))
    if guaranteed and transit_days is not None and transit_days > sla:
        return "delayed"
    return None


def _claims(ctx: _Ctx, sheets: dict[str, pd.DataFrame], fx: FxRates) -> pd.DataFrame:
    """The claims log with amounts in reporting cents (claimed at filed date, paid at paid date)."""
    cl = sheets["carrier_claims"].copy()
    claimed, paid, filed_month, paid_month = [], [], [], []
    for r in _rows(cl):
        filed = date.fromisoformat(r.filed_date)
        claimed.append(fx.to_reporting_cents(Decimal(r.claimed_amount) * 100, r.currency, filed))
        filed_month.append(filed.replace(day=1))
        if r.status == "paid" and r.paid_date:
            paid_day = date.fromisoformat(r.paid_date)
            paid.append(fx.to_reporting_cents(Decimal(r.paid_amount or "0") * 100, r.currency, paid_day))
            paid_month.append(paid_day.replace(day=1))
        else:
            paid.append(0)
            paid_month.append(None)
    return cl.assign(claimed_cents=claimed, paid_cents=paid, filed_month=filed_month, paid_month=paid_month)


# ------------------------------------------------------------------------------------------- assembly


def _months(first: date, last: date) -> list[date]:
    out, cur = [], first.replace(day=1)
    while cur <= last:
        out.append(cur)
        cur = (cur + timedelta(days=32)).replace(day=1)
    return out


def _grid(ctx: _Ctx) -> dict[str, list[date]]:
    """Store -> months from its first paid order's local month through the clock's local month."""
    grid = {}
    for store_id, group in ctx.orders.groupby("store_id"):
        grid[store_id] = _months(min(group["period_start"]), ctx.cals[store_id].local(ctx.as_of).date())
    return grid


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _p50(values: Iterable[float]) -> float | None:
    arr = np.asarray(list(values), dtype=float)
    return None if arr.size == 0 else float(np.quantile(arr, 0.5, method="linear"))


class _Acc:
    """Per (store or None, month, dimension value) collections for each metric."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, Any, date, str | None], list] = defaultdict(list)
        self.carrier_index: dict[tuple[str, Any, date], set[str]] = defaultdict(set)

    def add(self, metric: str, store_id: str, month: date, value: Any, carrier: str | None = None) -> None:
        for sid in (store_id, None):
            self.data[(metric, sid, month, None)].append(value)
            if carrier is not None:
                self.data[(metric, sid, month, carrier)].append(value)
                self.carrier_index[(metric, sid, month)].add(carrier)

    def get(self, metric: str, sid: str | None, month: date, carrier: str | None = None) -> list:
        return self.data.get((metric, sid, month, carrier), [])

    def carriers(self, metric: str, sid: str | None, month: date) -> list[str]:
        return sorted(self.carrier_index.get((metric, sid, month), set()))


def _collect(ctx: _Ctx, orders: pd.DataFrame, sup: pd.DataFrame, carrier_rows: pd.DataFrame,
             eligible: pd.DataFrame, claims: pd.DataFrame) -> _Acc:
    acc = _Acc()
    for r in _rows(orders[orders["included"]]):
        acc.add("orders_within_48h_rate", r.store_id, r.period_start, bool(r.hit))
    for r in _rows(sup[sup["transit_ok"].notna()]):
        acc.add("supplier_sla_hit_rate", r.store_id, r.period_start, bool(r.dispatch_ok and r.transit_ok))
    for r in _rows(carrier_rows):
        acc.add("carrier_transit_days_p50", r.store_id, r.period_start, r.transit_days, r.slug)
        if r.on_time is not None:
            acc.add("carrier_on_time_rate", r.store_id, r.period_start, bool(r.on_time), r.slug)
    claimed_numbers = set(claims["tracking_number"])
    for r in _rows(eligible):
        acc.add("eligible_claim_parcels", r.store_id, r.period_start, r.tracking_number in claimed_numbers, r.slug)
    for r in _rows(claims):
        if r.status in DECIDED:
            acc.add("claim_recovery_rate", r.store_id, r.filed_month, (r.paid_cents, r.claimed_cents))
        if r.paid_month is not None:
            acc.add("compensation_recovered", r.store_id, r.paid_month, r.paid_cents)
    return acc


def _month_values(acc: _Acc, sid: str | None, month: date, carrier: str | None = None) -> dict[str, Any]:
    hits = acc.get("orders_within_48h_rate", sid, month)
    sup = acc.get("supplier_sla_hit_rate", sid, month)
    on_time = acc.get("carrier_on_time_rate", sid, month, carrier)
    elig = acc.get("eligible_claim_parcels", sid, month, carrier)
    rec = acc.get("claim_recovery_rate", sid, month)
    return {
        "orders_within_48h_rate": _rate(sum(hits), len(hits)),
        "supplier_sla_hit_rate": _rate(sum(sup), len(sup)),
        "carrier_on_time_rate": _rate(sum(on_time), len(on_time)),
        "carrier_transit_days_p50": _p50(acc.get("carrier_transit_days_p50", sid, month, carrier)),
        "eligible_claim_parcels": float(len(elig)),
        "claim_filing_rate": _rate(sum(elig), len(elig)),
        "claim_recovery_rate": _rate(sum(p for p, _ in rec), sum(c for _, c in rec)),
        "compensation_recovered": sum(acc.get("compensation_recovered", sid, month)) / 100,
    }


def _month_rows(acc: _Acc, grid: dict[str, list[date]]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    portfolio_months = sorted({m for months in grid.values() for m in months})
    cells = [(s, m) for s, months in sorted(grid.items()) for m in months] + [(None, m) for m in portfolio_months]
    carrier_metrics = ("carrier_on_time_rate", "carrier_transit_days_p50", "eligible_claim_parcels")
    for sid, month in cells:
        for metric, value in _month_values(acc, sid, month).items():
            rows.append((metric, sid, month, "month", None, None, value))
        for metric in carrier_metrics:
            for carrier in acc.carriers(metric, sid, month):
                value = _month_values(acc, sid, month, carrier)[metric]
                rows.append((metric, sid, month, "month", "carrier", carrier, value))
    return rows


def _unfiled_past_window(ctx: _Ctx, eligible: pd.DataFrame, claims: pd.DataFrame,
                         windows: dict[tuple[str, str], int]) -> dict[str, int]:
    claimed = set(claims["tracking_number"])
    counts: dict[str, int] = defaultdict(int)
    for r in _rows(eligible):
        window = windows.get((r.slug, r.market))
        as_of_date = ctx.as_of_local(r.store_id).date()
        if r.tracking_number not in claimed and window is not None \
                and as_of_date > r.base_date + timedelta(days=window):
            counts[r.store_id] += 1
    return counts


def _asof_rows(ctx: _Ctx, counts: dict[str, dict[str, int]]) -> list[tuple[Any, ...]]:
    day = ctx.as_of.date()
    rows = []
    for metric, per_store in counts.items():
        for store_id in sorted(ctx.cals):
            rows.append((metric, store_id, day, "asof", None, None, float(per_store.get(store_id, 0))))
        rows.append((metric, None, day, "asof", None, None, float(sum(per_store.values()))))
    return rows


def compute_kpis(world_at_clock: Any, tables_at_clock: dict[str, pd.DataFrame],
                 sheets: dict[str, pd.DataFrame] | Path | str) -> pd.DataFrame:
    """The §7–§8 `kpis` rows (METRICS.md §13 long format), per store and for the portfolio (store_id None).

    `world_at_clock` is `world_at(world)`, `tables_at_clock` is `fulfilment.at_clock(tables, as_of)`, `sheets`
    a dict of sheet frames (`stores`, `holidays`, `suppliers`, `supplier_transit_sla`, `carriers`,
    `carrier_claims`, `fx_rates`, optional `refund_causes`; keys may carry the `sheet:` prefix) or a directory of
    CSVs. Rules: `sandbox/world/fulfilment.md`, "Metric rules".
    """
    sh = _load_sheets(sheets)
    if "stores" not in sh:
        sh["stores"] = _text_frame(world_at_clock.stores)
    if "suppliers" not in sh:
        sh["suppliers"] = _text_frame(world_at_clock.suppliers)
    as_of = _utc(world_at_clock.meta["as_of"])
    cals = _calendars(sh["stores"], sh["holidays"])
    market = dict(zip(sh["stores"]["store_id"], sh["stores"]["market"]))
    ctx = _Ctx(as_of, cals, sh["stores"], market, _paid_orders(world_at_clock, as_of, cals))
    codes = set(sh["refund_causes"]["code"]) if "refund_causes" in sh else set(world_at_clock.refunds["true_cause"])
    orders = _within_48h(ctx, _order_shipping(ctx, _line_ship_times(world_at_clock, tables_at_clock, as_of)))
    parcels = _parcels(ctx, world_at_clock, tables_at_clock)
    sheet = _carrier_sheet(sh)
    carrier_rows = _carrier_rows(ctx, parcels, sheet)
    sup = _supplier_lines(ctx, world_at_clock, tables_at_clock, parcels, sh)
    eligible = _eligible(ctx, world_at_clock, tables_at_clock, parcels, carrier_rows, sheet, codes)
    claims = _claims(ctx, sh, _fx(sh, world_at_clock.meta.get("reporting_currency", "USD")))
    acc = _collect(ctx, orders, sup, carrier_rows, eligible, claims)
    rows = _month_rows(acc, _grid(ctx))
    rows += _asof_rows(ctx, {"open_over_48h_count": _open_over_48h(ctx, orders),
                             "unfiled_past_window_count": _unfiled_past_window(ctx, eligible, claims,
                                                                               _claim_windows(sh))})
    return pd.DataFrame(rows, columns=KPI_COLUMNS, dtype=object).astype(object)
