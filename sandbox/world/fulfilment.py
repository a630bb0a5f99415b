"""Fulfilments, carrier tracking (AfterShip-style) and carrier claims, simulated on top of a base world.

`simulate(seed, world)` reads the full-horizon base world and returns the area's tables (see
`sandbox/world/fulfilment.md`); `at_clock(tables, as_of)` gives their state at a clock. The area has its own
random generator (`default_rng([seed, 101])`) so adding it never changes the base world. Everything is
vectorised: the loops below run over stores, carriers or timeline steps, never over orders.

Tags and subtags are AfterShip's. The tag enum is the installed SDK's `tracking.models.tag.Tag`
(aftership-tracking-sdk 10.0.1); `Delivered_001`, `Exception_011` and `Exception_013` are named in that SDK's
`mark_tracking_completed_by_id_request_reason.py`; the other subtag codes and messages follow AfterShip's public
"Delivery statuses (tag / subtag)" reference (https://www.aftership.com/docs/tracking/others/delivery-status).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from sandbox.world import World
from sandbox.world.presets import STORES

RNG_STREAM = 101
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
DROPSHIP_SKU_SHARE = 0.15
PARTIAL_SPLIT_RATE = 0.12
STUCK_ORDER_RATE = 0.004
UNCLAIMED_SHARE = 0.35
LATE_FILING_SHARE = 0.10
SILENCE_DAYS = 10
EXPIRE_DAYS = 30

# AfterShip subtag -> (tag, subtag message)
SUBTAGS: dict[str, tuple[str, str]] = {
    "Pending_001": ("Pending", "No information yet"),
    "InfoReceived_001": ("InfoReceived", "Info received"),
    "InTransit_002": ("InTransit", "Acceptance scan"),
    "InTransit_003": ("InTransit", "Arrival scan"),
    "InTransit_007": ("InTransit", "Departure Scan"),
    "OutForDelivery_001": ("OutForDelivery", "Out for Delivery"),
    "AttemptFail_002": ("AttemptFail", "Recipient not available at the moment"),
    "AvailableForPickup_001": ("AvailableForPickup", "Available for pickup"),
    "Delivered_001": ("Delivered", "Shipment delivered"),
    "Delivered_002": ("Delivered", "Picked up by the customer"),
    "Exception_012": ("Exception", "Shipment damage"),
    "Exception_013": ("Exception", "Shipment lost"),
    "Expired_001": ("Expired", "No tracking information in past 30 days"),
}
LOST_SUBTAGS = ("Exception_013",)
DAMAGED_SUBTAGS = ("Exception_012",)

# (slug, name, market, service, transit_sla_days, guaranteed, label_cost_cents, claim_window_days,
#  loss_rate, damage_rate, silent_rate, service weight within the market)
CARRIER_SERVICES: list[tuple[str, str, str, str, int, bool, int, int, float, float, float, float]] = [
    ("auspost", "Australia Post", "AU", "Parcel Post", 5, False, 1095, 40, 0.006, 0.008, 0.003, 0.55),
    ("auspost", "Australia Post", "AU", "Express Post", 2, True, 1595, 40, 0.004, 0.006, 0.002, 0.15),
    ("dhl", "DHL", "AU", "Express Domestic", 1, True, 2450, 30, 0.003, 0.005, 0.002, 0.30),
    ("royal-mail", "Royal Mail", "UK", "Tracked 48", 2, False, 395, 80, 0.040, 0.035, 0.010, 0.45),
    ("royal-mail", "Royal Mail", "UK", "Special Delivery Guaranteed", 1, True, 795, 80, 0.030, 0.030, 0.008, 0.10),
    ("dhl", "DHL", "UK", "Parcel UK", 2, False, 550, 30, 0.005, 0.007, 0.002, 0.45),
    ("usps", "USPS", "US", "Ground Advantage", 5, False, 650, 60, 0.007, 0.008, 0.004, 0.50),
    ("usps", "USPS", "US", "Priority Mail Express", 2, True, 2895, 60, 0.004, 0.005, 0.002, 0.10),
    ("ups", "UPS", "US", "Ground", 4, False, 1150, 60, 0.004, 0.006, 0.002, 0.30),
    ("ups", "UPS", "US", "2nd Day Air", 2, True, 2450, 60, 0.003, 0.004, 0.001, 0.10),
    ("canada-post", "Canada Post", "CA", "Expedited Parcel", 4, True, 1350, 60, 0.006, 0.007, 0.003, 0.45),
    ("canada-post", "Canada Post", "CA", "Regular Parcel", 7, False, 1150, 60, 0.007, 0.008, 0.004, 0.25),
    ("ups", "UPS", "CA", "Standard", 4, False, 1650, 60, 0.004, 0.006, 0.002, 0.30),
]
PLANTED_CARRIER_BY_MARKET = {"UK": "royal-mail", "AU": "auspost", "US": "usps", "CA": "canada-post"}
MARKET_CURRENCY = {"AU": "AUD", "UK": "GBP", "US": "USD", "CA": "CAD"}
MARKET_COUNTRY = {"AU": "AUS", "UK": "GBR", "US": "USA", "CA": "CAN"}
MARKET_CITIES = {
    "AU": ["Sydney NSW", "Melbourne VIC", "Brisbane QLD", "Perth WA"],
    "UK": ["London", "Manchester", "Birmingham", "Leeds"],
    "US": ["Newark, NJ", "Chicago, IL", "Dallas, TX", "Los Angeles, CA"],
    "CA": ["Toronto, ON", "Montreal, QC", "Vancouver, BC", "Calgary, AB"],
}
WAREHOUSE_TZ = {"AU": "Australia/Sydney", "UK": "Europe/London", "US": "America/Chicago", "CA": "America/Toronto"}
SUPPLIER_TZ = {"CNY": "Asia/Shanghai", "USD": "UTC", "AUD": "Australia/Melbourne", "GBP": "Europe/London"}
SUPPLIER_PLACE = {
    "sup-shenzhen-optics": ("Asia/Shanghai", "CHN"), "sup-nordic-glass": ("Europe/Stockholm", "SWE"),
    "sup-porto-textiles": ("Europe/Lisbon", "PRT"), "sup-melbourne-makers": ("Australia/Melbourne", "AUS"),
    "sup-leeds-home": ("Europe/London", "GBR"),
}
# The planted signals of the default cast (presets with a UK store and at least two stores: small, demo, large);
# `planted_signals(world)` gives them for any world.
planted: dict[str, object] = {"carrier_market": ("royal-mail", "UK"), "slow_store": STORES[1][0],
                              "unclaimed_share": UNCLAIMED_SHARE, "late_filing_share": LATE_FILING_SHARE}
# supplier transit SLA (calendar days) for every market: base + 3 when the supplier ships cross-border
SUPPLIER_TRANSIT_BASE_DAYS = 7


# ------------------------------------------------------------------------------------------------ holidays


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 = last) `weekday` (Mon=0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _market_holidays(market: str, year: int) -> list[tuple[date, str]]:
    """Public holidays of a market in a year (fixed dates are not moved off weekends)."""
    common = [(date(year, 1, 1), "New Year's Day"), (date(year, 12, 25), "Christmas Day")]
    if market == "AU":
        return common + [(date(year, 1, 26), "Australia Day"), (date(year, 4, 25), "Anzac Day"),
                         (_nth_weekday(year, 6, 0, 2), "King's Birthday"),
                         (_nth_weekday(year, 10, 0, 1), "Labour Day"), (date(year, 12, 26), "Boxing Day")]
    if market == "UK":
        return common + [(_nth_weekday(year, 5, 0, 1), "Early May bank holiday"),
                         (_nth_weekday(year, 5, 0, -1), "Spring bank holiday"),
                         (_nth_weekday(year, 8, 0, -1), "Summer bank holiday"), (date(year, 12, 26), "Boxing Day")]
    if market == "US":
        return common + [(_nth_weekday(year, 5, 0, -1), "Memorial Day"), (date(year, 7, 4), "Independence Day"),
                         (_nth_weekday(year, 9, 0, 1), "Labor Day"), (_nth_weekday(year, 11, 3, 4), "Thanksgiving")]
    if market == "CA":
        victoria = date(year, 5, 24) - timedelta(days=date(year, 5, 24).weekday())
        return common + [(victoria, "Victoria Day"), (date(year, 7, 1), "Canada Day"),
                         (_nth_weekday(year, 9, 0, 1), "Labour Day"),
                         (_nth_weekday(year, 10, 0, 2), "Thanksgiving"), (date(year, 12, 26), "Boxing Day")]
    return common


def holidays_sheet(world: World) -> pd.DataFrame:
    """`holidays.csv`: one row per store and holiday (store_id, market, date, name) over the world's years."""
    first = int(world.meta["start_date"][:4])
    last = int(world.meta["horizon_end"][:4]) + 1
    rows = [(s.store_id, s.market, d.isoformat(), name)
            for s in world.stores.itertuples()
            for year in range(first, last + 1)
            for d, name in _market_holidays(s.market, year)]
    frame = pd.DataFrame(rows, columns=["store_id", "market", "date", "name"])
    return frame.sort_values(["store_id", "date"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ cast


def carriers_table(world: World) -> pd.DataFrame:
    """Carrier services of the markets the world's stores sell in."""
    cols = ["slug", "carrier_name", "market", "service", "transit_sla_days", "guaranteed", "label_cost_cents",
            "claim_window_days", "loss_rate", "damage_rate", "silent_rate", "weight"]
    frame = pd.DataFrame(CARRIER_SERVICES, columns=cols)
    frame = frame[frame["market"].isin(world.stores["market"])].reset_index(drop=True)
    frame["currency"] = frame["market"].map(MARKET_CURRENCY)
    planted = planted_signals(world)["carrier_market"]
    frame["planted"] = (frame["slug"] == planted[0]) & (frame["market"] == planted[1])
    return frame


def carriers_sheet(carriers: pd.DataFrame) -> pd.DataFrame:
    """`carriers.csv`: what ops know per carrier × market × service (no true loss rates)."""
    sheet = carriers[["slug", "carrier_name", "market", "service", "transit_sla_days", "guaranteed",
                      "claim_window_days", "label_cost_cents", "currency"]].copy()
    sheet["guaranteed"] = sheet["guaranteed"].map({True: "true", False: "false"})
    sheet["label_cost"] = _cents_text(sheet.pop("label_cost_cents"))
    return sheet.rename(columns={"slug": "carrier"})


def locations_table(world: World) -> pd.DataFrame:
    """A warehouse per market and a location per supplier (Shopify Location ids)."""
    markets = list(dict.fromkeys(world.stores["market"]))
    wh = pd.DataFrame({
        "name": [f"{m} Warehouse" for m in markets], "kind": "warehouse", "market": markets,
        "supplier_id": None, "timezone": [WAREHOUSE_TZ[m] for m in markets],
        "country_code": [MARKET_COUNTRY[m] for m in markets],
    })
    sup = world.suppliers
    ccy = sup["supplier_id"].map(_supplier_currency(world))
    sp = pd.DataFrame({
        "name": sup["name"].to_numpy(), "kind": "supplier", "market": None,
        "supplier_id": sup["supplier_id"].to_numpy(),
        "timezone": [SUPPLIER_PLACE.get(s, (SUPPLIER_TZ.get(c, "UTC"), None))[0]
                     for s, c in zip(sup["supplier_id"], ccy)],
        "country_code": [SUPPLIER_PLACE.get(s, (None, None))[1] for s in sup["supplier_id"]],
    })
    frame = pd.concat([wh, sp], ignore_index=True)
    frame.insert(0, "location_id", np.arange(60_000_000_000, 60_000_000_000 + len(frame), dtype=np.int64))
    return frame


def _supplier_currency(world: World) -> dict[str, str]:
    skus = world.skus.drop_duplicates("supplier_id")
    return dict(zip(skus["supplier_id"], skus["cogs_currency"]))


def supplier_transit_sheet(world: World) -> pd.DataFrame:
    """`supplier_transit_sla.csv`: supplier × market transit SLA in calendar days (METRICS §7)."""
    markets = list(dict.fromkeys(world.stores["market"]))
    home = {"AUD": "AU", "GBP": "UK"}
    ccy = _supplier_currency(world)
    rows = [(s, m, SUPPLIER_TRANSIT_BASE_DAYS + (0 if home.get(ccy.get(s, "")) == m else 3))
            for s in world.suppliers["supplier_id"] for m in markets]
    return pd.DataFrame(rows, columns=["supplier_id", "market", "transit_sla_days"])


def planted_signals(world: World) -> dict[str, object]:
    """The planted signals: high-loss carrier × market, slow-dispatch store, claim behaviour shares."""
    markets = list(dict.fromkeys(world.stores["market"]))
    market = "UK" if "UK" in markets else markets[0]
    slow = world.stores["store_id"].iloc[1] if len(world.stores) > 1 else world.stores["store_id"].iloc[0]
    return {"carrier_market": (PLANTED_CARRIER_BY_MARKET[market], market), "slow_store": slow,
            "unclaimed_share": UNCLAIMED_SHARE, "late_filing_share": LATE_FILING_SHARE}


# ------------------------------------------------------------------------------------------------ helpers


def _cents_text(cents: pd.Series) -> pd.Series:
    values = cents.astype("Int64")
    text = values.abs().floordiv(100).astype(str) + "." + values.abs().mod(100).astype(str).str.zfill(2)
    text = text.where(values >= 0, "-" + text)
    return text.where(values.notna(), "")


def _us(stamps: pd.Series) -> np.ndarray:
    """UTC timestamps -> int64 epoch microseconds."""
    return pd.to_datetime(stamps, utc=True).dt.as_unit("us").astype("int64").to_numpy()


def _ts(values: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(values, unit="us", utc=True)).dt.as_unit("us")


def _local_naive(us: np.ndarray, tz: str) -> pd.DatetimeIndex:
    return pd.to_datetime(us, unit="us", utc=True).tz_convert(tz).tz_localize(None)


def _naive_to_us(naive: pd.DatetimeIndex, tz: str) -> np.ndarray:
    local = naive.tz_localize(tz, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward")
    return local.tz_convert("UTC").as_unit("us").asi8


def _local_dates(us: np.ndarray, timezones: np.ndarray) -> np.ndarray:
    """Local calendar dates (datetime64[D]) of epoch-us instants, each in its own timezone."""
    out = np.empty(len(us), dtype="datetime64[D]")
    for tz in pd.unique(timezones):
        mask = timezones == tz
        out[mask] = _local_naive(us[mask], tz).normalize().values.astype("datetime64[D]")
    return out


def _at_local_hours(days: np.ndarray, hours: np.ndarray, timezones: np.ndarray) -> np.ndarray:
    """Epoch us of local `days` (datetime64[D]) at `hours` o'clock, each in its own timezone."""
    out = np.zeros(len(days), dtype=np.int64)
    naive = days.astype("datetime64[us]") + (hours * HOUR_US).astype(np.int64).astype("timedelta64[us]")
    for tz in pd.unique(timezones):
        mask = timezones == tz
        out[mask] = _naive_to_us(pd.DatetimeIndex(naive[mask]), tz)
    return out


def _holidays_by_store(holidays: pd.DataFrame) -> dict[str, np.ndarray]:
    return {s: np.array(g["date"].to_numpy(), dtype="datetime64[D]") for s, g in holidays.groupby("store_id")}


def _paid_at(world: World) -> pd.Series:
    tx = world.transactions
    ok = tx[tx["kind"].isin(["SALE", "CAPTURE"]) & (tx["status"] == "SUCCESS")]
    return ok.groupby("order_id")["created_at"].min()


# ------------------------------------------------------------------------------------------------ fulfillments


def _shippable_orders(world: World) -> pd.DataFrame:
    """Paid, non-test orders with paid_us (cancelled ones too: `simulate` drops their parcels afterwards, so a
    cancellation never changes the draws of other orders)."""
    paid = _paid_at(world)
    orders = world.orders[~world.orders["test"]]
    orders = orders[orders["order_id"].isin(paid.index)][["order_id", "store_id", "name", "currency"]].copy()
    orders["paid_us"] = _us(orders["order_id"].map(paid))
    return orders.merge(world.stores[["store_id", "market", "timezone", "order_cutoff_local"]], on="store_id")


def _line_groups(rng: np.random.Generator, world: World, orders: pd.DataFrame,
                 locations: pd.DataFrame) -> pd.DataFrame:
    """One row per line with the location it ships from and its part (0, or 1 for a later partial shipment)."""
    skus = world.skus
    dropship = pd.Series(rng.random(len(skus)) < DROPSHIP_SKU_SHARE, index=skus["sku"].to_numpy())
    sup_of = pd.Series(skus["supplier_id"].to_numpy(), index=skus["sku"].to_numpy())
    lines = world.line_items[["line_item_id", "order_id", "sku", "quantity", "unit_price_cents", "discount_cents"]]
    lines = lines.merge(orders[["order_id", "market"]], on="order_id")
    wh = locations[locations["kind"] == "warehouse"].set_index("market")["location_id"]
    sp = locations[locations["kind"] == "supplier"].set_index("supplier_id")["location_id"]
    is_drop = lines["sku"].map(dropship).fillna(False).to_numpy(dtype=bool)
    lines["location_id"] = np.where(is_drop, lines["sku"].map(sup_of).map(sp).fillna(-1),
                                    lines["market"].map(wh)).astype(np.int64)
    lines["supplier_id"] = np.where(is_drop, lines["sku"].map(sup_of), None)
    lines = lines.sort_values(["order_id", "location_id", "line_item_id"], kind="stable").reset_index(drop=True)
    by_group = lines.groupby(["order_id", "location_id"])
    rank = by_group.cumcount().to_numpy()
    size = by_group["line_item_id"].transform("size").to_numpy()
    split_draw = pd.Series(rng.random(len(lines))).groupby(by_group.ngroup().to_numpy()).transform("first")
    from_warehouse = lines["supplier_id"].isna().to_numpy()
    split = from_warehouse & (size >= 2) & (rank >= 1) & (split_draw.to_numpy() < PARTIAL_SPLIT_RATE)
    lines["part"] = split.astype(np.int64)
    return lines


def _dispatch_days(rng: np.random.Generator, groups: pd.DataFrame, slow_store: str,
                   sla: pd.Series) -> np.ndarray:
    """Business days from clock start to dispatch per fulfillment group."""
    n = len(groups)
    normal = rng.choice([0, 1, 2, 3, 5], size=n, p=[0.55, 0.33, 0.08, 0.03, 0.01])
    slow = rng.choice([0, 1, 2, 3, 4, 6], size=n, p=[0.08, 0.22, 0.25, 0.25, 0.12, 0.08])
    wh_days = np.where(groups["store_id"].to_numpy() == slow_store, slow, normal)
    sup_sla = groups["supplier_id"].map(sla).fillna(0).to_numpy(dtype=np.int64)
    # a start at 00:00 on day D with an SLA of s business days ends with day D + s - 1
    sup_days = np.maximum(0, sup_sla - 1 + rng.choice([-1, 0, 1, 2, 4], size=n, p=[0.25, 0.5, 0.12, 0.08, 0.05]))
    days = np.where(groups["supplier_id"].isna().to_numpy(), wh_days, sup_days)
    extra = rng.integers(1, 5, size=n)
    return days + np.where(groups["part"].to_numpy() == 1, extra, 0)


def _ship_times(rng: np.random.Generator, groups: pd.DataFrame, holidays: dict[str, np.ndarray]) -> np.ndarray:
    """Fulfillment created_at (epoch us): clock-start business day + dispatch business days, local hours."""
    out = np.zeros(len(groups), dtype=np.int64)
    tod = rng.uniform(9, 19, size=len(groups)) * HOUR_US
    after_paid = rng.uniform(0.2, 2.0, size=len(groups)) * HOUR_US
    for store_id, idx in groups.groupby("store_id").indices.items():
        g = groups.iloc[idx]
        tz = g["timezone"].iloc[0]
        hol = holidays.get(store_id, np.array([], dtype="datetime64[D]"))
        local = _local_naive(g["paid_us"].to_numpy(), tz)
        day = local.normalize().values.astype("datetime64[D]")
        paid_tod = (local.values - local.normalize().values).astype("timedelta64[us]").astype(np.int64)
        cutoff = pd.to_timedelta(g["order_cutoff_local"].iloc[0] + ":00").value // 1000
        same_day = np.is_busday(day, holidays=hol) & (paid_tod <= cutoff)
        start = np.where(same_day, day, np.busday_offset(day + 1, 0, roll="forward", holidays=hol))
        ship_day = np.busday_offset(start, g["days"].to_numpy(), roll="forward", holidays=hol)
        t = tod[idx]
        first_day = same_day & (ship_day == day)
        t = np.where(first_day, np.minimum(np.maximum(t, paid_tod + after_paid[idx]), DAY_US - 60_000_000), t)
        naive = pd.DatetimeIndex(ship_day.astype("datetime64[us]") + t.astype("timedelta64[us]"))
        out[idx] = _naive_to_us(naive, tz)
    return out


def _fulfillments(rng: np.random.Generator, world: World, orders: pd.DataFrame, lines: pd.DataFrame,
                  carriers: pd.DataFrame, holidays: dict[str, np.ndarray],
                  slow_store: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fulfillments and their line items, created up to the horizon."""
    groups = lines.drop_duplicates(["order_id", "location_id", "part"])[
        ["order_id", "location_id", "part", "supplier_id"]].reset_index(drop=True)
    groups = groups.merge(orders, on="order_id")
    sla = world.suppliers.set_index("supplier_id")["dispatch_sla_business_days"]
    groups["days"] = _dispatch_days(rng, groups, slow_store, sla)
    groups["created_us"] = _ship_times(rng, groups, holidays)
    stuck = groups["order_id"].map(
        pd.Series(rng.random(len(orders)) < STUCK_ORDER_RATE, index=orders["order_id"].to_numpy()))
    horizon = int(pd.Timestamp(world.meta["horizon_end"]).value // 1000)
    groups = groups[~stuck.to_numpy(dtype=bool) & (groups["created_us"] <= horizon)]
    groups = groups.sort_values(["created_us", "order_id", "location_id", "part"], kind="stable")
    groups = groups.reset_index(drop=True)
    groups["fulfillment_id"] = np.arange(4_600_000_000, 4_600_000_000 + len(groups), dtype=np.int64)
    groups = _assign_services(rng, groups, carriers)
    fli = lines.merge(groups[["order_id", "location_id", "part", "fulfillment_id"]],
                      on=["order_id", "location_id", "part"])
    fli = fli.sort_values(["fulfillment_id", "line_item_id"], kind="stable").reset_index(drop=True)
    fli["fulfillment_line_item_id"] = np.arange(14_000_000_000, 14_000_000_000 + len(fli), dtype=np.int64)
    return groups, fli[["fulfillment_line_item_id", "fulfillment_id", "line_item_id", "quantity"]]


def _assign_services(rng: np.random.Generator, groups: pd.DataFrame, carriers: pd.DataFrame) -> pd.DataFrame:
    """Carrier service per fulfillment, by the market's service weights."""
    pick = np.zeros(len(groups), dtype=np.int64)
    draw = rng.random(len(groups))
    for market, idx in groups.groupby("market").indices.items():
        rows = carriers.index[carriers["market"] == market].to_numpy()
        weights = carriers.loc[rows, "weight"].to_numpy()
        cum = np.cumsum(weights / weights.sum())
        pick[idx] = rows[np.minimum(np.searchsorted(cum, draw[idx], side="right"), len(rows) - 1)]
    chosen = carriers.iloc[pick].reset_index(drop=True)
    for col in ["slug", "service", "transit_sla_days", "guaranteed", "label_cost_cents", "claim_window_days",
                "loss_rate", "damage_rate", "silent_rate"]:
        groups[col] = chosen[col].to_numpy()
    groups["label_currency"] = chosen["currency"].to_numpy()
    return groups


# ------------------------------------------------------------------------------------------------ tracking


def _tracking_numbers(slug: np.ndarray, fid: np.ndarray) -> np.ndarray:
    """Carrier-shaped, unique tracking numbers derived from the fulfillment id."""
    n = pd.Series(fid - 4_600_000_000 + 1, dtype="int64")
    digits = (n + 100_000_000).astype(str)
    by_slug = {
        "auspost": "33QJ" + digits.str.zfill(12) + "01",
        "royal-mail": "RM" + digits.str.zfill(9) + "GB",
        "usps": "9400" + digits.str.zfill(18),
        "ups": "1Z7X" + digits.str.zfill(14),
        "canada-post": "7023" + digits.str.zfill(12),
        "dhl": "JD" + digits.str.zfill(16),
    }
    out = np.empty(len(slug), dtype=object)
    for s, numbers in by_slug.items():
        mask = slug == s
        out[mask] = numbers.to_numpy()[mask]
    return out


def _outcomes(rng: np.random.Generator, fl: pd.DataFrame) -> np.ndarray:
    """True parcel outcome: delivered, attempt (delivered after a failed attempt), lost, damaged, silent."""
    u = rng.random(len(fl))
    loss, dmg, sil = fl["loss_rate"].to_numpy(), fl["damage_rate"].to_numpy(), fl["silent_rate"].to_numpy()
    out = np.where(u < loss, "lost", np.where(u < loss + dmg, "damaged",
                   np.where(u < loss + dmg + sil, "silent", "delivered")))
    attempt = (out == "delivered") & (rng.random(len(fl)) < 0.08)
    return np.where(attempt, "attempt", out)


def _transit_days(rng: np.random.Generator, fl: pd.DataFrame) -> np.ndarray:
    n = len(fl)
    std = rng.choice([-1, 0, 1, 2, 3, 5], size=n, p=[0.15, 0.55, 0.15, 0.08, 0.05, 0.02])
    gua = rng.choice([-1, 0, 1, 2], size=n, p=[0.3, 0.63, 0.05, 0.02])
    delta = np.where(fl["guaranteed"].to_numpy(dtype=bool), gua, std)
    return np.maximum(1, fl["transit_sla_days"].to_numpy() + delta)


def _trackings(rng: np.random.Generator, fl: pd.DataFrame) -> pd.DataFrame:
    """One AfterShip tracking per fulfillment, with its true timeline (in epoch us)."""
    n = len(fl)
    created = fl["created_us"].to_numpy() + rng.integers(60_000_000, 30 * 60_000_000, size=n)
    info = created + rng.integers(HOUR_US // 2, 6 * HOUR_US, size=n)
    pickup = info + rng.integers(2 * HOUR_US, 28 * HOUR_US, size=n)
    outcome = _outcomes(rng, fl)
    days = _transit_days(rng, fl)
    delivered = _at_local_hours(_local_dates(pickup, fl["timezone"].to_numpy()) + days,
                                rng.uniform(9, 18, size=n), fl["timezone"].to_numpy())
    delivered = np.maximum(delivered, pickup + HOUR_US)
    attempt_extra = rng.integers(1, 4, size=n) * DAY_US
    end = np.where(outcome == "lost", pickup + rng.integers(6, 16, size=n) * DAY_US,
                   np.where(outcome == "damaged", delivered - 6 * HOUR_US, delivered))
    end = np.where(outcome == "attempt", delivered + attempt_extra, end)
    fid = fl["fulfillment_id"].to_numpy()
    slug = fl["slug"].to_numpy()
    edd_known = rng.random(n) < 0.8
    edd = pd.Series(_local_dates(pickup, fl["timezone"].to_numpy()), dtype="datetime64[us]")
    edd = (edd + pd.to_timedelta(fl["transit_sla_days"].to_numpy(), unit="D")).dt.date
    return pd.DataFrame({
        "tracking_id": [f"{(int(f) * 2654435761) % (1 << 64):016x}{int(f):016x}" for f in fid],
        "tracking_number": _tracking_numbers(slug, fid),
        "slug": slug,
        "service": fl["service"].to_numpy(),
        "fulfillment_id": fid,
        "order_id": fl["order_id"].to_numpy(),
        "order_number": fl["name"].to_numpy(),
        "store_id": fl["store_id"].to_numpy(),
        "market": fl["market"].to_numpy(),
        "created_us": created,
        "info_us": info,
        "pickup_us": pickup,
        "end_us": end,
        "outcome": outcome,
        "first_estimated_delivery": edd.astype(object).where(edd_known, None).to_numpy(),
    })


def _checkpoints(rng: np.random.Generator, tr: pd.DataFrame) -> pd.DataFrame:
    """The carrier scan events of every tracking, by outcome path, sorted by tracking then time."""
    o = tr["outcome"].to_numpy()
    info, pickup, end = tr["info_us"].to_numpy(), tr["pickup_us"].to_numpy(), tr["end_us"].to_numpy()
    span = np.maximum(end - pickup, HOUR_US)
    moving = np.isin(o, ["delivered", "attempt", "damaged"])
    first_try = np.where(o == "attempt", pickup + (span * 0.6).astype(np.int64), end)
    everyone = np.ones(len(tr), dtype=bool)
    steps = [
        (everyone, info, "InfoReceived_001"),
        (everyone, pickup, "InTransit_002"),
        (moving | (o == "lost"), pickup + np.minimum(span // 4, DAY_US), "InTransit_007"),
        (moving, pickup + span // 2, "InTransit_003"),
        (np.isin(o, ["delivered", "attempt"]), first_try - 3 * HOUR_US, "OutForDelivery_001"),
        (o == "attempt", first_try, "AttemptFail_002"),
        (o == "attempt", first_try + 4 * HOUR_US, "AvailableForPickup_001"),
        (o == "attempt", end, "Delivered_002"),
        (o == "delivered", end, "Delivered_001"),
        (o == "damaged", end, "Exception_012"),
        (o == "lost", end, "Exception_013"),
    ]
    rows = np.concatenate([np.flatnonzero(mask) for mask, _, _ in steps])
    times = np.concatenate([t[mask] for mask, t, _ in steps])
    step = np.concatenate([np.full(mask.sum(), i) for i, (mask, _, _) in enumerate(steps)])
    order = np.lexsort((step, times, rows))
    rows, times, step = rows[order], times[order], step[order]
    subtags = np.array([sub for _, _, sub in steps], dtype=object)[step]
    tags = np.array([SUBTAGS[sub][0] for _, _, sub in steps], dtype=object)[step]
    messages = np.array([SUBTAGS[sub][1] for _, _, sub in steps], dtype=object)[step]
    return pd.DataFrame({
        "tracking_id": tr["tracking_id"].to_numpy()[rows], "checkpoint_time": _ts(times), "tag": tags,
        "subtag": subtags, "subtag_message": messages, "message": messages,
        "location": _cities(rng, tr["market"].to_numpy()[rows]),
    })


def _cities(rng: np.random.Generator, markets: np.ndarray) -> np.ndarray:
    """A random city of each row's market."""
    pick = rng.integers(0, 4, size=len(markets))
    out = np.empty(len(markets), dtype=object)
    for market, cities in MARKET_CITIES.items():
        here = markets == market
        out[here] = np.array(cities, dtype=object)[pick[here]]
    return out


def _finish_trackings(tr: pd.DataFrame, cp_last: pd.Series) -> pd.DataFrame:
    """Public columns of trackings (full horizon): pickup/delivery dates and the expiry time."""
    out = tr.copy()
    o = out["outcome"].to_numpy()
    delivered = np.isin(o, ["delivered", "attempt"])
    out["created_at"] = _ts(out["created_us"].to_numpy())
    out["shipment_pickup_date"] = _ts(out["pickup_us"].to_numpy())
    out["shipment_delivery_date"] = _ts(np.where(delivered, out["end_us"].to_numpy(), np.iinfo(np.int64).min))
    out.loc[~delivered, "shipment_delivery_date"] = pd.NaT
    last = _us(out["tracking_id"].map(cp_last))
    expired = (o == "silent")
    out["expired_at"] = _ts(last + EXPIRE_DAYS * DAY_US)
    out.loc[~expired, "expired_at"] = pd.NaT
    out = out.rename(columns={"outcome": "true_outcome"})
    return out[["tracking_id", "tracking_number", "slug", "service", "fulfillment_id", "order_id", "order_number",
                "store_id", "market", "created_at", "shipment_pickup_date", "shipment_delivery_date",
                "first_estimated_delivery", "expired_at", "true_outcome"]]


# ------------------------------------------------------------------------------------------------ claims


def _parcel_values(fli: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """Merchandise value (order currency cents) per fulfillment."""
    li = lines.set_index("line_item_id")
    unit = li["unit_price_cents"] - li["discount_cents"] / li["quantity"]
    value = fli["line_item_id"].map(unit) * fli["quantity"]
    return value.groupby(fli["fulfillment_id"]).sum().round().astype(np.int64)


def _claimable(world: World, tr: pd.DataFrame, cp_last: pd.Series, fli: pd.DataFrame) -> pd.DataFrame:
    """True claimable parcels with the time ops could notice them and the claim type."""
    o = tr["true_outcome"].to_numpy()
    pickup = _us(tr["shipment_pickup_date"])
    last = _us(tr["tracking_id"].map(cp_last))
    delivered = _us(tr["shipment_delivery_date"].fillna(pd.Timestamp(0, tz="UTC")))
    sla_end = pickup + tr["transit_sla_days"].to_numpy() * DAY_US + DAY_US
    late = tr["guaranteed"].to_numpy(dtype=bool) & np.isin(o, ["delivered", "attempt"]) & (delivered > sla_end)
    kind = np.select([o == "lost", o == "silent", o == "damaged", late], ["lost", "lost", "damaged", "delayed"], "")
    noticed = np.select([o == "lost", o == "silent", o == "damaged", late],
                        [last, pickup + SILENCE_DAYS * DAY_US, last, delivered], 0)
    base = pd.DataFrame({"tracking_id": tr["tracking_id"], "claim_type": kind, "noticed_us": noticed})
    base = base[base["claim_type"] != ""]
    # damage reported through a refund (true cause damaged_in_transit) on a delivered parcel
    rf = world.refunds[world.refunds["true_cause"] == "damaged_in_transit"]
    rli = world.refund_line_items[world.refund_line_items["refund_id"].isin(rf["refund_id"])]
    rli = rli.merge(rf[["refund_id", "created_at"]], on="refund_id").merge(fli, on="line_item_id")
    rli = rli.merge(tr[["fulfillment_id", "tracking_id", "true_outcome"]], on="fulfillment_id")
    rli = rli[rli["true_outcome"].isin(["delivered", "attempt"])]
    leak = pd.DataFrame({"tracking_id": rli["tracking_id"], "claim_type": "damaged",
                         "noticed_us": _us(rli["created_at"])})
    both = pd.concat([base, leak], ignore_index=True).drop_duplicates("tracking_id")
    return both.merge(tr, on="tracking_id")


def _claims(rng: np.random.Generator, world: World, tr: pd.DataFrame, cp_last: pd.Series, fli: pd.DataFrame,
            value: pd.Series) -> pd.DataFrame:
    """The ops claims log: a share of claimable parcels is claimed, some after the window."""
    c = _claimable(world, tr, cp_last, fli)
    n = len(c)
    filed = rng.random(n) >= UNCLAIMED_SHARE
    late = rng.random(n) < LATE_FILING_SHARE
    pickup = _us(c["shipment_pickup_date"])
    window_end = pickup + c["claim_window_days"].to_numpy() * DAY_US
    on_time = np.minimum(c["noticed_us"].to_numpy() + rng.integers(DAY_US, 20 * DAY_US, size=n),
                         window_end - DAY_US)
    filed_us = np.where(late, window_end + rng.integers(2 * DAY_US, 25 * DAY_US, size=n),
                        np.maximum(on_time, c["noticed_us"].to_numpy() + HOUR_US))
    decided_us = filed_us + rng.integers(7 * DAY_US, 40 * DAY_US, size=n)
    horizon = int(pd.Timestamp(world.meta["horizon_end"]).value // 1000)
    keep = filed & (filed_us <= horizon)
    claimed = c["fulfillment_id"].map(value).to_numpy()
    paid = ~late & (filed_us < window_end) & (rng.random(n) < 0.72)
    ratio = rng.choice([1.0, 1.0, 1.0, 0.5], size=n)
    frame = pd.DataFrame({
        "tracking_id": c["tracking_id"], "tracking_number": c["tracking_number"], "carrier": c["slug"],
        "store_id": c["store_id"], "store_timezone": c["timezone"], "order_id": c["order_id"],
        "order_name": c["order_number"],
        "claim_type": c["claim_type"], "filed_us": filed_us, "decided_us": decided_us,
        "final_status": np.where(paid, "paid", "rejected"), "claimed_amount_cents": claimed,
        "paid_amount_cents": np.where(paid, np.round(claimed * ratio), 0).astype(np.int64),
        "currency": c["currency"],
    })[keep]
    frame = frame.sort_values(["filed_us", "tracking_number"], kind="stable").reset_index(drop=True)
    frame.insert(0, "claim_id", [f"CLM-{i:06d}" for i in range(1, len(frame) + 1)])
    frame["filed_at"] = _ts(frame.pop("filed_us").to_numpy())
    frame["decided_at"] = _ts(frame.pop("decided_us").to_numpy())
    frame["status"] = frame["final_status"]
    frame["paid_at"] = frame["decided_at"].where(frame["final_status"] == "paid")
    frame["paid_amount_cents"] = frame["paid_amount_cents"].astype("Int64").where(frame["final_status"] == "paid")
    return frame


def _store_local_dates(stamps: pd.Series, timezones: pd.Series) -> pd.Series:
    """'YYYY-MM-DD' local dates of UTC stamps ('' when missing), each row in its own timezone."""
    out = pd.Series("", index=stamps.index, dtype=object)
    for zone, idx in stamps.groupby(timezones).groups.items():
        out.loc[idx] = stamps.loc[idx].dt.tz_convert(zone).dt.strftime("%Y-%m-%d").fillna("")
    return out


def claims_sheet(claims: pd.DataFrame) -> pd.DataFrame:
    """`carrier_claims.csv` as ops keep it: store-local dates, decimal amounts, status as of its clock."""
    tz = claims["store_timezone"]
    return pd.DataFrame({
        "claim_id": claims["claim_id"], "store_id": claims["store_id"], "order_name": claims["order_name"],
        "tracking_number": claims["tracking_number"], "carrier": claims["carrier"],
        "claim_type": claims["claim_type"], "filed_date": _store_local_dates(claims["filed_at"], tz),
        "claimed_amount": _cents_text(claims["claimed_amount_cents"]), "currency": claims["currency"],
        "status": claims["status"], "paid_date": _store_local_dates(claims["paid_at"], tz),
        "paid_amount": _cents_text(claims["paid_amount_cents"]),
    }).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ entry points


def simulate(seed: int, world: World) -> dict[str, pd.DataFrame]:
    """Simulate the fulfilment area over the full horizon of `world` (deterministic from `seed`)."""
    rng = np.random.default_rng([seed, RNG_STREAM])
    planted = planted_signals(world)
    carriers = carriers_table(world)
    locations = locations_table(world)
    holidays = holidays_sheet(world)
    orders = _shippable_orders(world)
    lines = _line_groups(rng, world, orders, locations)
    fl, fli = _fulfillments(rng, world, orders, lines, carriers, _holidays_by_store(holidays),
                            str(planted["slow_store"]))
    tr_raw = _trackings(rng, fl)
    cp = _checkpoints(rng, tr_raw)
    cp_last = cp.groupby("tracking_id")["checkpoint_time"].max()
    tr = _finish_trackings(tr_raw, cp_last)
    info = fl.set_index("fulfillment_id")
    tr_full = tr.assign(transit_sla_days=tr["fulfillment_id"].map(info["transit_sla_days"]),
                        guaranteed=tr["fulfillment_id"].map(info["guaranteed"]),
                        claim_window_days=tr["fulfillment_id"].map(info["claim_window_days"]),
                        currency=tr["fulfillment_id"].map(info["currency"]),
                        timezone=tr["fulfillment_id"].map(info["timezone"]))
    claims = _claims(rng, world, tr_full, cp_last, fli, _parcel_values(fli, world.line_items))
    # a cancelled order never ships (cancelled before its first parcel would have left)
    cancelled = world.orders.loc[world.orders["cancelled_at"].notna(), "order_id"]
    fl = fl[~fl["order_id"].isin(cancelled)]
    fli = fli[fli["fulfillment_id"].isin(fl["fulfillment_id"])].reset_index(drop=True)
    tr = tr[tr["fulfillment_id"].isin(fl["fulfillment_id"])]
    cp = cp[cp["tracking_id"].isin(tr["tracking_id"])].reset_index(drop=True)
    claims = claims[claims["tracking_id"].isin(tr["tracking_id"])].reset_index(drop=True)
    fl, tr = fl.reset_index(drop=True), tr.reset_index(drop=True)
    fulfillments = pd.DataFrame({
        "fulfillment_id": fl["fulfillment_id"], "order_id": fl["order_id"], "location_id": fl["location_id"],
        "created_at": _ts(fl["created_us"].to_numpy()), "status": "SUCCESS",
        "tracking_number": tr["tracking_number"].to_numpy(), "tracking_company": fl["slug"],
        "service": fl["service"], "label_cost_cents": fl["label_cost_cents"].astype(np.int64),
        "label_currency": fl["label_currency"],
    })
    return {
        "locations": locations, "carriers": carriers, "fulfillments": fulfillments,
        "fulfillment_line_items": fli, "trackings": tr, "checkpoints": cp, "carrier_claims": claims,
        "sheet:carriers": carriers_sheet(carriers), "sheet:carrier_claims": claims_sheet(claims),
        "sheet:holidays": holidays, "sheet:supplier_transit_sla": supplier_transit_sheet(world),
    }


def _tracking_state(tr: pd.DataFrame, cp: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """tag / subtag / subtag_message / updated_at of each tracking at the clock."""
    last = cp.groupby("tracking_id").tail(1).set_index("tracking_id")
    out = tr.copy()
    out["tag"] = out["tracking_id"].map(last["tag"]).fillna("Pending")
    out["subtag"] = out["tracking_id"].map(last["subtag"]).fillna("Pending_001")
    out["subtag_message"] = out["tracking_id"].map(last["subtag_message"]).fillna(SUBTAGS["Pending_001"][1])
    last_time = out["tracking_id"].map(last["checkpoint_time"])
    out["updated_at"] = last_time.where(last_time.notna() & (last_time > out["created_at"]), out["created_at"])
    exp = out["expired_at"].notna() & (out["expired_at"] <= as_of)
    out.loc[exp, ["tag", "subtag", "subtag_message"]] = ["Expired", "Expired_001", SUBTAGS["Expired_001"][1]]
    out.loc[exp, "updated_at"] = out.loc[exp, "expired_at"]
    out.loc[~exp, "expired_at"] = pd.NaT
    return out


def at_clock(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The area as the APIs and sheets show it at `as_of`: nothing after the clock is visible."""
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    fl = tables["fulfillments"]
    fl = fl[fl["created_at"] <= as_of].reset_index(drop=True)
    fli = tables["fulfillment_line_items"]
    fli = fli[fli["fulfillment_id"].isin(fl["fulfillment_id"])].reset_index(drop=True)
    tr = tables["trackings"]
    tr = tr[(tr["created_at"] <= as_of) & tr["fulfillment_id"].isin(fl["fulfillment_id"])].copy()
    for col in ["shipment_pickup_date", "shipment_delivery_date"]:
        tr[col] = tr[col].where(tr[col] <= as_of)
    cp = tables["checkpoints"]
    cp = cp[(cp["checkpoint_time"] <= as_of) & cp["tracking_id"].isin(tr["tracking_id"])].reset_index(drop=True)
    tr = _tracking_state(tr.drop(columns=["true_outcome"]), cp, as_of).reset_index(drop=True)
    cl = tables["carrier_claims"]
    cl = cl[cl["filed_at"] <= as_of].copy()
    decided = cl["decided_at"] <= as_of
    cl["status"] = np.where(decided, cl["final_status"], "filed")
    cl["decided_at"] = cl["decided_at"].where(decided)
    cl["paid_at"] = cl["paid_at"].where(cl["paid_at"] <= as_of)
    cl["paid_amount_cents"] = cl["paid_amount_cents"].where(cl["paid_at"].notna())
    cl = cl.drop(columns=["final_status"]).reset_index(drop=True)
    out = {k: v for k, v in tables.items() if k in ("locations", "carriers") or k.startswith("sheet:")}
    out.update({"fulfillments": fl, "fulfillment_line_items": fli, "trackings": tr, "checkpoints": cp,
                "carrier_claims": cl,
                "sheet:carrier_claims": claims_sheet(cl)})
    return out
