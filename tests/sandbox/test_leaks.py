"""The leaks area (returns, replacements, store credit, approvals, labels, recoveries) and its ground truth."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from sandbox.build import generate
from sandbox.world import load_world, world_at
from tests.metrics_md import metric_names

RETURN_REASONS = {"COLOR", "DEFECTIVE", "NOT_AS_DESCRIBED", "OTHER", "SIZE_TOO_LARGE", "SIZE_TOO_SMALL", "STYLE",
                  "UNKNOWN", "UNWANTED", "WRONG_ITEM"}  # Shopify Admin GraphQL `ReturnReason`
RESOLUTIONS = {"replacement", "store_credit", "partial_refund", "cash_refund", "reship_free"}

# METRICS.md §13, every metric name of the canonical `kpis` table (parsed, so it cannot drift)
METRICS_13 = metric_names()
OWNED_ELSEWHERE = {"data_completeness"}  # built by the data-completeness helper, not by the ground truth
LEAK_COST_DIMENSIONS = {"supplier", "sku", "market", "carrier", "cause"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny seed 3 with no leaks metric promoted, so both gross-profit definitions sit in the file (the slice's in
    `kpis`, the area's in `area_kpis`) whatever sandbox.build.WAREHOUSE_METRICS["leaks"] holds today."""
    from sandbox import build

    out = tmp_path_factory.mktemp("tiny_leaks")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(build.WAREHOUSE_METRICS, "leaks", set())
        generate("tiny", 3, out)
    return out


def _sql(root: Path, query: str) -> pd.DataFrame:
    con = duckdb.connect(str(root / "ground_truth.duckdb"), read_only=True)
    try:
        return con.execute(query).df()
    finally:
        con.close()


def test_world_has_returns_replacements_credit_labels_and_recoveries(tiny: Path) -> None:
    world = world_at(load_world(tiny / "world"))
    leaks = world.areas["leaks"]
    returns = leaks["returns"]
    assert len(returns) > 20
    assert set(returns["return_reason"]) <= RETURN_REASONS
    assert set(returns["status"]) <= {"REQUESTED", "OPEN", "CLOSED", "DECLINED", "CANCELED"}
    closed = returns[returns["closed_at"].notna()]
    assert (closed["received_at"] <= closed["closed_at"]).all()
    assert (closed["requested_at"] < closed["received_at"]).all()
    assert {"refund", "exchange"} <= set(returns["outcome"])
    assert returns["returns_provider"].nunique() >= 2

    rep = leaks["replacement_orders"]
    lines = leaks["replacement_line_items"]
    assert len(rep) > 5 and set(lines["order_id"]) == set(rep["order_id"])
    assert (lines["unit_price_cents"] == 0).all() and (rep["shipping_price_cents"] == 0).all()
    names = set(zip(world.orders["store_id"], world.orders["name"]))
    for store_id, tags in zip(rep["store_id"], rep["tags"]):
        original = [t.removeprefix("replacement-for:") for t in tags if t.startswith("replacement-for:")]
        assert len(original) == 1 and (store_id, original[0]) in names
    # replacement orders are not sales: no order, no transaction of the base world carries their id
    assert not set(rep["order_id"]) & set(world.orders["order_id"])
    assert not set(rep["order_id"]) & set(world.transactions["order_id"])

    assert len(leaks["store_credit_transactions"]) > 5
    labels = pd.read_csv(tiny / "sheets" / "shipping_labels.csv")
    assert set(labels["direction"]) == {"outbound", "return"}
    assert (world.areas["fulfilment"]["fulfillments"]["tracking_number"].isin(labels["tracking_number"])).all()
    returned = labels[labels["direction"] == "return"]  # a return label names its return; an outbound one none
    assert labels.loc[labels["direction"] == "outbound", "return_name"].isna().all()
    assert all(name.startswith(f"{order}-R") for name, order in zip(returned["return_name"], returned["order_name"]))
    assert returned["return_name"].isin(leaks["returns"]["name"]).all()
    credits = pd.read_csv(tiny / "sheets" / "supplier_credits.csv")
    assert len(credits) > 0 and credits["order_name"].isin(world.orders["name"]).all()


def test_ops_sheets_for_the_decision_matrix_and_approval_limits(tiny: Path) -> None:
    matrix = pd.read_csv(tiny / "sheets" / "refund_decision_matrix.csv", keep_default_na=False)
    causes = pd.read_csv(tiny / "sheets" / "refund_causes.csv")
    assert set(matrix["cause"]) == set(causes["code"])
    assert (matrix.groupby("cause")["value_band"].nunique() == 3).all()
    for first, allowed in zip(matrix["first_choice"], matrix["allowed"]):
        assert first in allowed.split(";") and set(allowed.split(";")) <= RESOLUTIONS
    limits = pd.read_csv(tiny / "sheets" / "approval_limits.csv")
    assert {"staff", "max_amount", "currency"} <= set(limits.columns) and (limits["currency"] == "USD").all()


def test_refund_cash_agrees_with_the_slice_ground_truth(tiny: Path) -> None:
    """Two independent implementations (Decimal loop in the slice, integer FX here) give the same cents."""
    full = _sql(tiny, "select object_id, cash_refunded from leak_events_full where event_type = 'refund'")
    slice_ = _sql(tiny, "select refund_id, refund_cost_usd from leak_events")
    merged = full.assign(refund_id=full["object_id"].astype("int64")).merge(slice_, on="refund_id", how="outer")
    assert len(merged) == len(slice_) == len(full)
    assert np.allclose(merged["cash_refunded"].astype(float), merged["refund_cost_usd"].astype(float), atol=1e-9)


def test_full_gross_profit_is_the_slice_profit_minus_labels_and_fees(tiny: Path) -> None:
    slice_gp = _sql(tiny, "select store_id, period_start, value from kpis where metric = 'gross_profit' "
                          "and store_id is not null")
    parts = _sql(tiny, "select store_id, period_start, sum(label_cost) labels, sum(payment_fees) fees, "
                       "sum(gross_profit) gp from order_profit group by all")
    merged = slice_gp.merge(parts, on=["store_id", "period_start"])
    assert len(merged) == len(slice_gp) > 0
    assert np.allclose(merged["value"] - merged["labels"] - merged["fees"], merged["gp"], atol=0.005)
    # every month but the young one at the clock (orders not shipped yet) has labels and fees
    assert (merged["labels"] > 0).mean() > 0.75 and (merged["fees"] > 0).mean() > 0.75
    area = _sql(tiny, "select store_id, period_start, value from area_kpis where metric = 'gross_profit' "
                      "and store_id is not null")
    check = area.merge(parts, on=["store_id", "period_start"])
    assert np.allclose(check["value"], check["gp"], atol=0.005)


def test_leak_cost_components(tiny: Path) -> None:
    ev = _sql(tiny, "select * from leak_events_full")
    total = (ev["cash_refunded"] + ev["store_credit_cost"] + ev["replacement_cost"] + ev["return_label_cost"]
             - ev["restocked_cogs"] - ev["recoveries"] + ev["chargeback_cost"])
    assert np.allclose(total, ev["leak_cost"], atol=0.005)
    credit = ev[ev["event_type"] == "store_credit"]
    half = [float((Decimal(str(v)) * Decimal("0.5")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
            for v in credit["store_credit_issued"]]
    assert np.allclose(credit["store_credit_cost"], half, atol=1e-9)
    assert set(ev["event_type"]) == {"refund", "replacement", "store_credit", "chargeback"}
    assert set(ev["resolution"].dropna()) == RESOLUTIONS
    for column in ("return_label_cost", "restocked_cogs", "recoveries", "replacement_cost"):
        assert ev[column].sum() > 0, column
    # recoveries go to one event per order at most
    assert not ev[ev["recoveries"] != 0]["order_id"].duplicated().any()


def test_every_cause_channel_is_used_and_inference_follows_the_return_reason(tiny: Path) -> None:
    world = world_at(load_world(tiny / "world"))
    ev = _sql(tiny, "select * from leak_events_full")
    assert {"tagged", "inferred", "unknown"} == set(ev["cause_source"])
    refunds = world.refunds.set_index("refund_id")
    rev = ev[ev["event_type"] == "refund"].assign(refund_id=lambda f: f["object_id"].astype("int64"))
    no_token = rev["refund_id"].map(refunds["note_cause"]).isna() & rev["refund_id"].map(refunds["tag_cause"]).isna()
    no_note = rev[no_token]
    # the conversation channel tags some refunds that carry neither a note token nor an order tag
    assert (no_note["cause_source"] == "tagged").sum() > 0
    returns = world.areas["leaks"]["returns"]
    reason = rev["refund_id"].map(returns.dropna(subset=["refund_id"]).set_index("refund_id")["return_reason"])
    inferred = rev[(rev["cause_source"] == "inferred") & reason.notna()]
    mapping = {"DEFECTIVE": "supplier_defect", "WRONG_ITEM": "wrong_item", "NOT_AS_DESCRIBED": "not_as_described",
               "SIZE_TOO_LARGE": "size_fit", "SIZE_TOO_SMALL": "size_fit", "UNWANTED": "changed_mind",
               "STYLE": "changed_mind", "COLOR": "changed_mind"}
    assert len(inferred) > 0
    assert (inferred["cause"] == reason[inferred.index].map(mapping)).all()


def test_decision_matrix_and_approval_limits(tiny: Path) -> None:
    ev = _sql(tiny, "select * from leak_events_full where resolution is not null")
    matrix = pd.read_csv(tiny / "sheets" / "refund_decision_matrix.csv", keep_default_na=False)
    allowed = matrix.set_index(["cause", "value_band"])["allowed"]
    for row in ev.itertuples():
        ok = row.resolution == row.first_choice or (row.escalated and row.resolution in allowed[
            (row.cause, row.value_band)].split(";"))
        assert bool(row.compliant) == ok, row
    assert 0.3 < ev["compliant"].astype(bool).mean() < 0.95
    assert ev["cash_before_credit"].sum() > 0
    limits = pd.read_csv(tiny / "sheets" / "approval_limits.csv").set_index("staff")["max_amount"]
    listed = _sql(tiny, "select * from over_limit_unapproved")
    assert len(listed) > 0
    amount = listed["cash_refunded"].where(listed["event_type"] == "refund", listed["store_credit_issued"])
    assert (amount > listed["staff"].map(limits)).all()
    # some over-limit refunds were approved by someone whose limit covers them, so they are not listed
    refunds = ev[ev["event_type"] == "refund"]
    over = refunds[refunds["cash_refunded"] > refunds["staff"].map(limits)]
    assert len(over) > len(listed[listed["event_type"] == "refund"])
    kpi = _sql(tiny, "select sum(value) v from area_kpis where metric = 'over_limit_unapproved_count' "
                     "and store_id is not null")
    assert kpi["v"].iloc[0] == len(listed)


def test_return_cycle_p50_and_exchange_share_from_the_world(tiny: Path) -> None:
    world = world_at(load_world(tiny / "world"))
    returns = world.areas["leaks"]["returns"]
    closed = returns[returns["closed_at"].notna()].copy()
    tz = world.stores.set_index("store_id")["timezone"]
    closed["month"] = [c.tz_convert(tz[s]).strftime("%Y-%m-01") for c, s in zip(closed["closed_at"],
                                                                                  closed["store_id"])]
    closed["days"] = (closed["closed_at"] - closed["requested_at"]).dt.total_seconds() / 86400
    kpis = _sql(tiny, "select metric, strftime(period_start, '%Y-%m-%d') m, value from area_kpis "
                      "where store_id is null and dimension is null "
                      "and metric in ('return_cycle_days_p50', 'exchange_share')")
    for month, group in closed.groupby("month"):
        row = kpis[kpis["m"] == month].set_index("metric")["value"]
        assert row["return_cycle_days_p50"] == pytest.approx(float(np.median(group["days"])))
        exchanges = (group["outcome"] == "exchange").sum()
        assert row["exchange_share"] == pytest.approx(exchanges / len(group))
    # METRICS.md §13: dimension NULL only; by-provider cycle times stay in the returns_processed table
    split = _sql(tiny, "select count(*) n from (select metric, dimension from kpis union all "
                       "select metric, dimension from area_kpis) "
                       "where metric = 'return_cycle_days_p50' and dimension is not null")
    assert split["n"].iloc[0] == 0
    providers = _sql(tiny, "select count(distinct returns_provider) n from returns_processed")
    assert providers["n"].iloc[0] >= 2


def test_every_metric_of_metrics_13_is_in_the_demo_ground_truth(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Union of `kpis` and `area_kpis` of the demo preset covers METRICS.md §13 (but data_completeness), with
    non-trivial values: not all NULL, and not all zero; leak_cost by each of its dimensions."""
    out = tmp_path_factory.mktemp("demo")
    generate("demo", 7, out)
    rows = _sql(out, "select metric, dimension, value from kpis union all "
                     "select metric, dimension, value from area_kpis")
    present = set(rows["metric"])
    missing = [m for m in METRICS_13 if m not in present and m not in OWNED_ELSEWHERE]
    assert not missing, f"METRICS.md §13 metrics missing from the demo ground truth: {missing}"
    values = rows.dropna(subset=["value"]).groupby("metric")["value"]
    trivial = [m for m in METRICS_13 if m in present and (m not in values.groups or (values.get_group(m) == 0).all())]
    assert not trivial, f"metrics with only NULL or zero values: {trivial}"
    dims = set(rows.loc[rows["metric"] == "leak_cost", "dimension"].dropna())
    assert LEAK_COST_DIMENSIONS <= dims, dims


def test_cancel_reason_is_the_last_inference_channel(tiny: Path) -> None:
    """An order cancelled for INVENTORY / FRAUD gives its otherwise unknown leak events that cause (inferred)."""
    from sandbox.ground_truth_leaks import compute_kpis_and_tables

    before = _sql(tiny, "select event_id, order_id from leak_events_full where cause_source = 'unknown' "
                        "and event_type = 'refund' order by event_id").drop_duplicates("order_id", keep=False)
    assert len(before) >= 2
    world = load_world(tiny / "world")
    inventory, fraud = int(before["order_id"].iloc[0]), int(before["order_id"].iloc[1])
    orders = world.orders.set_index("order_id")
    orders.loc[[inventory, fraud], "cancelled_at"] = orders.loc[[inventory, fraud], "created_at"]
    orders.loc[inventory, "cancel_reason"] = "INVENTORY"
    orders.loc[fraud, "cancel_reason"] = "FRAUD"
    world.orders = orders.reset_index()
    events = compute_kpis_and_tables(world, tiny / "sheets")["leak_events_full"].set_index("event_id")
    first, second = before["event_id"].iloc[0], before["event_id"].iloc[1]
    assert events.loc[first, "cause"] == "out_of_stock" and events.loc[second, "cause"] == "fraud"
    assert events.loc[first, "cause_source"] == events.loc[second, "cause_source"] == "inferred"


def test_a_built_area_metric_replaces_the_slices_rows(tiny: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Promoting `gross_profit` in the leaks area puts the area's rows in `kpis`, never both definitions."""
    import shutil

    from sandbox import build
    from sandbox.ground_truth import write_ground_truth

    world = load_world(tiny / "world")
    area = _sql(tiny, "select * from area_kpis where metric = 'gross_profit'")
    slice_rows = _sql(tiny, "select * from kpis where metric = 'gross_profit'")
    assert len(area) and len(slice_rows) and not area.equals(slice_rows), "the two definitions differ here"
    path = tmp_path / "ground_truth.duckdb"
    monkeypatch.setitem(build.WAREHOUSE_METRICS, "leaks", {"gross_profit"})
    shutil.copytree(tiny / "sheets", tmp_path / "sheets")
    write_ground_truth(world, tmp_path / "sheets", path)
    build.write_area_ground_truth(world, tmp_path / "sheets", path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        promoted = con.execute("select * from kpis where metric = 'gross_profit'").df()
        parked = con.execute("select count(*) from area_kpis where metric = 'gross_profit'").fetchone()[0]
    finally:
        con.close()
    key = ["store_id", "period_start"]
    assert parked == 0
    pd.testing.assert_frame_equal(promoted.sort_values(key, na_position="first").reset_index(drop=True),
                                  area.sort_values(key, na_position="first").reset_index(drop=True))
