"""Tests for the fulfilment area (sandbox.world.fulfilment) and its ground truth (sandbox.ground_truth_fulfilment)."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time
from typing import Any

import pandas as pd
import pytest

from sandbox.ground_truth_fulfilment import BusinessCalendar, compute_kpis, parse_business_days
from sandbox.world import World, world_at
from sandbox.world import fulfilment as F
from sandbox.world.generate import build_world
from sandbox.world.sheets import sheets as base_sheets

SEED = 11
STORE = "s1"


# ------------------------------------------------------------------------------------------ generated world


@pytest.fixture(scope="module")
def small() -> tuple[World, dict[str, pd.DataFrame]]:
    world = build_world("small", SEED)
    return world, F.simulate(SEED, world)


@pytest.fixture(scope="module")
def small_kpis(small: tuple[World, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    world, tables = small
    at = world_at(world)
    now = F.at_clock(tables, pd.Timestamp(world.meta["as_of"]))
    sheets = {**base_sheets(at), **{k: v for k, v in now.items() if k.startswith("sheet:")}}
    return compute_kpis(at, now, sheets)


def test_same_seed_same_frames(small: tuple[World, dict[str, pd.DataFrame]]) -> None:
    world, tables = small
    again = F.simulate(SEED, world)
    assert tables.keys() == again.keys()
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, again[name], obj=name)


def test_area_does_not_touch_base_world() -> None:
    first = build_world("tiny", 3)
    F.simulate(3, first)
    second = build_world("tiny", 3)
    pd.testing.assert_frame_equal(first.orders, second.orders)


def test_planted_carrier_market_has_highest_loss_rate(small: tuple[World, dict[str, pd.DataFrame]]) -> None:
    world, tables = small
    tr = tables["trackings"]
    bad = tr["true_outcome"].isin(["lost", "silent", "damaged"])
    rate = bad.groupby([tr["slug"], tr["market"]]).mean()
    assert rate.idxmax() == F.planted_signals(world)["carrier_market"] == F.planted["carrier_market"]


def test_slow_store_has_lowest_48h_rate(small: tuple[World, dict[str, pd.DataFrame]],
                                        small_kpis: pd.DataFrame) -> None:
    world, _ = small
    k = small_kpis
    rows = k[(k["metric"] == "orders_within_48h_rate") & k["store_id"].notna() & k["value"].notna()]
    mean = rows.groupby("store_id")["value"].apply(lambda v: sum(v) / len(v))
    assert mean.idxmin() == F.planted_signals(world)["slow_store"] == F.planted["slow_store"]


def test_some_eligible_parcels_unclaimed_and_some_past_window(small_kpis: pd.DataFrame) -> None:
    k = small_kpis
    filing = k[(k["metric"] == "claim_filing_rate") & k["store_id"].isna() & k["value"].notna()]["value"]
    # claims trail eligibility, so recent months are lower; no month has every eligible parcel claimed
    assert 0.3 < max(filing) < 0.95
    unfiled = k[(k["metric"] == "unfiled_past_window_count") & k["store_id"].isna()]["value"].iloc[0]
    assert unfiled > 0


def test_kpi_shape(small_kpis: pd.DataFrame) -> None:
    k = small_kpis
    assert set(k["metric"]) == set(F_METRICS)
    assert set(k.loc[k["grain"] == "asof", "metric"]) == {"open_over_48h_count", "unfiled_past_window_count"}
    rates = k[k["metric"].str.endswith("_rate") & k["value"].notna()]["value"]
    assert rates.between(0, 1).all()


F_METRICS = ["orders_within_48h_rate", "supplier_sla_hit_rate", "carrier_on_time_rate", "carrier_transit_days_p50",
             "open_over_48h_count", "eligible_claim_parcels", "claim_filing_rate", "claim_recovery_rate",
             "compensation_recovered", "unfiled_past_window_count"]


def _visible_times(tables: dict[str, pd.DataFrame]) -> list[pd.Series]:
    return [tables["fulfillments"]["created_at"], tables["trackings"]["created_at"],
            tables["trackings"]["shipment_delivery_date"].dropna(), tables["trackings"]["updated_at"],
            tables["checkpoints"]["checkpoint_time"], tables["carrier_claims"]["filed_at"],
            tables["carrier_claims"]["paid_at"].dropna()]


def test_at_clock_hides_the_future(small: tuple[World, dict[str, pd.DataFrame]]) -> None:
    world, tables = small
    t1 = pd.Timestamp(world.meta["as_of"])
    t2 = t1 + pd.Timedelta(days=10)
    a, b = F.at_clock(tables, t1), F.at_clock(tables, t2)
    for stamps in _visible_times(a):
        assert (stamps <= t1).all()
    assert "true_outcome" not in a["trackings"].columns
    for name, key in [("fulfillments", "fulfillment_id"), ("trackings", "tracking_id"),
                      ("carrier_claims", "claim_id"), ("fulfillment_line_items", "fulfillment_line_item_id")]:
        assert set(a[name][key]) <= set(b[name][key])
    assert len(a["checkpoints"]) <= len(b["checkpoints"])
    later = b["trackings"].set_index("tracking_id").loc[a["trackings"]["tracking_id"]]
    delivered = a["trackings"]["shipment_delivery_date"].notna().to_numpy()
    assert (later["shipment_delivery_date"].to_numpy()[delivered]
            == a["trackings"]["shipment_delivery_date"].to_numpy()[delivered]).all()
    claims = b["carrier_claims"].set_index("claim_id").loc[a["carrier_claims"]["claim_id"], "status"]
    settled = a["carrier_claims"]["status"].isin(["paid", "rejected"]).to_numpy()
    assert (claims.to_numpy()[settled] == a["carrier_claims"]["status"].to_numpy()[settled]).all()


def test_demo_generation_is_fast() -> None:
    world = build_world("demo", SEED)
    started = clock.perf_counter()
    F.simulate(SEED, world)
    assert clock.perf_counter() - started < 10


def test_tags_are_aftership_values(small: tuple[World, dict[str, pd.DataFrame]]) -> None:
    world, tables = small
    now = F.at_clock(tables, pd.Timestamp(world.meta["as_of"]))
    tags = {"Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail", "Delivered",
            "AvailableForPickup", "Exception", "Expired"}
    assert set(now["trackings"]["tag"]) <= tags
    assert (now["trackings"]["subtag"].str.split("_").str[0] == now["trackings"]["tag"]).all()


# ------------------------------------------------------------------------------------------ business clock


def _cal(holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    return BusinessCalendar("UTC", time(14, 0), parse_business_days("Mon-Fri"), holidays)


def test_clock_before_cutoff_starts_at_payment() -> None:
    cal = _cal()
    start = cal.clock_start(datetime(2024, 1, 2, 10, 0))  # Tuesday
    assert start == datetime(2024, 1, 2, 10, 0)
    assert cal.add_business_hours(start, 48) == datetime(2024, 1, 4, 10, 0)
    assert cal.clock_start(datetime(2024, 1, 2, 14, 0)) == datetime(2024, 1, 2, 14, 0)  # at the cut-off


def test_clock_after_cutoff_moves_to_next_business_day() -> None:
    cal = _cal()
    start = cal.clock_start(datetime(2024, 1, 3, 15, 0))  # Wednesday after cut-off
    assert start == datetime(2024, 1, 4)
    # earliest instant 48 business hours later: end of Friday
    assert cal.add_business_hours(start, 48) == datetime(2024, 1, 6)


def test_clock_weekend() -> None:
    cal = _cal()
    assert cal.clock_start(datetime(2024, 1, 6, 9, 0)) == datetime(2024, 1, 8)  # Saturday -> Monday
    start = cal.clock_start(datetime(2024, 1, 5, 10, 0))  # Friday morning
    assert cal.add_business_hours(start, 48) == datetime(2024, 1, 9, 10, 0)  # Tuesday 10:00
    assert cal.business_hours_between(datetime(2024, 1, 5, 10, 0), datetime(2024, 1, 8, 12, 0)) == 26


def test_clock_holiday() -> None:
    cal = _cal(frozenset({date(2024, 1, 8)}))  # Monday holiday
    start = cal.clock_start(datetime(2024, 1, 5, 15, 0))  # Friday after cut-off
    assert start == datetime(2024, 1, 9)
    assert cal.add_business_hours(start, 48) == datetime(2024, 1, 11)
    assert cal.business_hours_between(datetime(2024, 1, 5, 12, 0), datetime(2024, 1, 9, 6, 0)) == 18


def test_parse_business_days() -> None:
    assert parse_business_days("Mon-Fri") == frozenset(range(5))
    assert parse_business_days("Mon,Wed") == frozenset({0, 2})


# ------------------------------------------------------------------------------------------ hand-built case


def _t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _hand_world() -> World:
    """One US store on UTC, cut-off 14:00; seven orders in January/February 2024 (1 Jan is a holiday)."""
    paid = {1: "2024-01-02 10:00", 2: "2024-01-02 16:00", 3: "2024-01-05 10:00", 4: "2024-01-08 10:00",
            5: "2024-01-31 10:00", 6: "2024-02-01 10:00", 7: "2024-01-15 10:00"}
    orders = pd.DataFrame({"order_id": list(paid), "store_id": STORE, "name": [f"#{i}" for i in paid],
                           "created_at": [_t(v) for v in paid.values()], "test": False,
                           "cancelled_at": pd.Series([pd.NaT] * len(paid), dtype="datetime64[us, UTC]")})
    tx = pd.DataFrame({"transaction_id": list(paid), "order_id": list(paid), "kind": "SALE", "status": "SUCCESS",
                       "created_at": [_t(v) for v in paid.values()]})
    line_orders = [1, 2, 3, 4, 4, 5, 6, 7]
    lines = pd.DataFrame({"line_item_id": [10 + i for i in range(len(line_orders))], "order_id": line_orders,
                          "quantity": 1})
    refunds = pd.DataFrame({"refund_id": [900], "order_id": [1], "created_at": [_t("2024-01-20 10:00")],
                            "note_cause": ["damaged_in_transit"], "tag_cause": [None],
                            "true_cause": ["damaged_in_transit"]})
    rli = pd.DataFrame({"refund_id": [900], "line_item_id": [10]})
    stores = pd.DataFrame({"store_id": [STORE], "market": ["US"], "timezone": ["UTC"],
                           "order_cutoff_local": ["14:00"], "business_days": ["Mon-Fri"]})
    suppliers = pd.DataFrame({"supplier_id": ["sup-a"], "name": ["A"], "dispatch_sla_business_days": [3]})
    empty = pd.DataFrame()
    return World(stores=stores, suppliers=suppliers, skus=empty, customers=empty, orders=orders, line_items=lines,
                 transactions=tx, refunds=refunds, refund_line_items=rli,
                 meta={"as_of": "2024-02-02T12:00:00Z", "reporting_currency": "USD"})


def _tracking(tid: str, fid: int, slug: str, service: str, pickup: str, delivery: str | None,
              edd: date | None, tag: str, subtag: str) -> dict[str, Any]:
    return {"tracking_id": tid, "tracking_number": f"TN-{tid}", "slug": slug, "service": service,
            "fulfillment_id": fid, "created_at": _t(pickup) - pd.Timedelta(hours=2),
            "shipment_pickup_date": _t(pickup), "shipment_delivery_date": _t(delivery) if delivery else pd.NaT,
            "first_estimated_delivery": edd, "tag": tag, "subtag": subtag, "expired_at": pd.NaT,
            "updated_at": _t(delivery or pickup)}


def _hand_tables() -> dict[str, pd.DataFrame]:
    fl = pd.DataFrame({
        "fulfillment_id": [1, 2, 3, 41, 42, 7],
        "order_id": [1, 2, 3, 4, 4, 7],
        "location_id": [100, 100, 200, 100, 200, 100],
        "created_at": [_t(v) for v in ["2024-01-03 09:00", "2024-01-04 23:00", "2024-01-09 11:00",
                                        "2024-01-08 12:00", "2024-01-12 09:00", "2024-01-15 12:00"]],
        "status": "SUCCESS",
    })
    fli = pd.DataFrame({"fulfillment_line_item_id": range(6), "fulfillment_id": [1, 2, 3, 41, 42, 7],
                        "line_item_id": [10, 11, 12, 13, 14, 17], "quantity": 1})
    locations = pd.DataFrame({"location_id": [100, 200], "kind": ["warehouse", "supplier"],
                              "supplier_id": [None, "sup-a"]})
    tr = pd.DataFrame([
        _tracking("t1", 1, "usps", "Ground Advantage", "2024-01-03 12:00", "2024-01-05 10:00", date(2024, 1, 5),
                  "Delivered", "Delivered_001"),
        _tracking("t2", 2, "ups", "2nd Day Air", "2024-01-05 12:00", "2024-01-10 10:00", None,
                  "Delivered", "Delivered_001"),
        _tracking("t3", 3, "usps", "Ground Advantage", "2024-01-09 12:00", "2024-01-12 10:00", date(2024, 1, 11),
                  "Delivered", "Delivered_001"),
        _tracking("t41", 41, "usps", "Ground Advantage", "2024-01-08 14:00", None, None, "Exception", "Exception_013"),
        _tracking("t42", 42, "usps", "Ground Advantage", "2024-01-12 15:00", "2024-01-16 10:00", None,
                  "Delivered", "Delivered_001"),
        _tracking("t7", 7, "dhl", "Parcel", "2024-01-16 10:00", None, None, "InTransit", "InTransit_002"),
    ])
    cp = pd.DataFrame({"tracking_id": ["t1", "t2", "t3", "t41", "t41", "t42", "t7"],
                       "checkpoint_time": [_t(v) for v in ["2024-01-05 10:00", "2024-01-10 10:00", "2024-01-12 10:00",
                                                           "2024-01-08 14:00", "2024-01-20 10:00", "2024-01-16 10:00",
                                                           "2024-01-16 10:00"]]})
    return {"fulfillments": fl, "fulfillment_line_items": fli, "locations": locations, "trackings": tr,
            "checkpoints": cp}


def _hand_sheets(world: World) -> dict[str, pd.DataFrame]:
    carriers = pd.DataFrame({
        "carrier": ["usps", "ups", "dhl"], "market": "US",
        "service": ["Ground Advantage", "2nd Day Air", "Parcel"], "transit_sla_days": [5, 2, 3],
        "guaranteed": ["false", "true", "false"], "claim_window_days": [60, 60, 10]})
    claims = pd.DataFrame({
        "claim_id": ["C1", "C2"], "store_id": STORE, "order_name": ["#4", "#2"],
        "tracking_number": ["TN-t41", "TN-t2"], "carrier": ["usps", "ups"], "claim_type": ["lost", "delayed"],
        "filed_date": ["2024-01-25", "2024-01-20"], "claimed_amount": ["100.00", "50.00"], "currency": "USD",
        "status": ["paid", "rejected"], "paid_date": ["2024-02-01", ""], "paid_amount": ["80.00", ""]})
    return {
        "stores": world.stores, "suppliers": world.suppliers,
        "holidays": pd.DataFrame({"store_id": [STORE], "market": ["US"], "date": ["2024-01-01"], "name": ["NY"]}),
        "supplier_transit_sla": pd.DataFrame({"supplier_id": ["sup-a"], "market": ["US"], "transit_sla_days": [7]}),
        "carriers": carriers, "sheet:carrier_claims": claims,
        "fx_rates": pd.DataFrame({"date": ["2023-12-31"], "currency": ["USD"], "rate_to_usd": ["1"]}),
        "refund_causes": pd.DataFrame({"code": ["damaged_in_transit", "unknown"]}),
    }


@pytest.fixture(scope="module")
def hand_kpis() -> pd.DataFrame:
    world = _hand_world()
    return compute_kpis(world, _hand_tables(), _hand_sheets(world))


def _value(k: pd.DataFrame, metric: str, store: str | None, period: date, carrier: str | None = None) -> Any:
    rows = k[(k["metric"] == metric) & (k["period_start"] == period)
             & (k["store_id"].isna() if store is None else k["store_id"] == store)
             & (k["dimension_value"].isna() if carrier is None else k["dimension_value"] == carrier)]
    assert len(rows) == 1, (metric, store, period, carrier, rows)
    return rows["value"].iloc[0]


JAN, FEB, ASOF = date(2024, 1, 1), date(2024, 2, 1), date(2024, 2, 2)


@pytest.mark.parametrize("store", [STORE, None])
def test_hand_orders_within_48h(hand_kpis: pd.DataFrame, store: str | None) -> None:
    # hits: o1, o2 (after cut-off), o7; misses: o3 (weekend), o4 (partial, full shipment late), o5 (unshipped,
    # deadline passed); o6 still inside its window -> excluded
    assert _value(hand_kpis, "orders_within_48h_rate", store, JAN) == pytest.approx(3 / 6)
    assert _value(hand_kpis, "orders_within_48h_rate", store, FEB) is None


def test_hand_open_over_48h(hand_kpis: pd.DataFrame) -> None:
    # o5: Wed 31 Jan 10:00 -> Fri 2 Feb 12:00 = 50 business hours; o6: 26 h
    assert _value(hand_kpis, "open_over_48h_count", STORE, ASOF) == 1
    assert _value(hand_kpis, "open_over_48h_count", None, ASOF) == 1


def test_hand_supplier_sla(hand_kpis: pd.DataFrame) -> None:
    # line of o3: dispatched Tue 9 Jan 11:00 <= Wed 10 Jan 10:00, transit 3 <= 7 -> hit;
    # line B of o4: dispatched Fri 12 Jan > Thu 11 Jan 10:00 -> miss
    assert _value(hand_kpis, "supplier_sla_hit_rate", STORE, JAN) == pytest.approx(0.5)


def test_hand_carrier(hand_kpis: pd.DataFrame) -> None:
    # delivered in January: t1 (on time vs EDD), t2 (late vs SLA fallback), t3 (late vs EDD), t42 (on time)
    assert _value(hand_kpis, "carrier_on_time_rate", STORE, JAN) == pytest.approx(0.5)
    assert _value(hand_kpis, "carrier_transit_days_p50", STORE, JAN) == pytest.approx(3.5)
    assert _value(hand_kpis, "carrier_on_time_rate", STORE, JAN, "usps") == pytest.approx(2 / 3)
    assert _value(hand_kpis, "carrier_transit_days_p50", None, JAN, "ups") == pytest.approx(5)


def test_hand_claims(hand_kpis: pd.DataFrame) -> None:
    # eligible: t1 (damaged refund), t2 (guaranteed, 5 > 2 days), t41 (Exception_013), t7 (silent 10+ days)
    assert _value(hand_kpis, "eligible_claim_parcels", STORE, JAN) == 4
    assert _value(hand_kpis, "eligible_claim_parcels", STORE, JAN, "usps") == 2
    assert _value(hand_kpis, "claim_filing_rate", STORE, JAN) == pytest.approx(0.5)
    assert _value(hand_kpis, "claim_recovery_rate", STORE, JAN) == pytest.approx(80 / 150)
    assert _value(hand_kpis, "compensation_recovered", STORE, FEB) == pytest.approx(80.0)
    assert _value(hand_kpis, "compensation_recovered", STORE, JAN) == 0
    # unclaimed past window: t7 (dhl, 10-day window from 16 Jan); t1 is inside usps's 60 days
    assert _value(hand_kpis, "unfiled_past_window_count", None, ASOF) == 1
