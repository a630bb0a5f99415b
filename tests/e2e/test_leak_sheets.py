"""Leak sheets end to end on `tiny` (shares `published_tiny`): every row of the four leak sheets reaches raw_sheets
unchanged, and staging keeps them (the decision matrix as one row per allowed resolution)."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from pipelines.sources.sheets.helpers import read_sheet
from pipelines.sources.sheets.settings import SHEETS
from tests.conftest import Leakwatch

pytestmark = pytest.mark.slow

LEAK_SHEETS = ("refund_decision_matrix", "approval_limits", "shipping_labels", "supplier_credits")


@pytest.fixture(scope="module")
def warehouse(published_tiny: Leakwatch):
    con = duckdb.connect(str(published_tiny.var_dir / "warehouse.duckdb"), read_only=True)
    yield published_tiny, con
    con.close()


def _normalise(value):
    """Comparable text: DuckDB gives decimal(38,9) for the sheet's `12.30`, so decimals compare by value."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return None if value is None else str(value)


@pytest.mark.parametrize("sheet", LEAK_SHEETS)
def test_leak_sheet_extracted_row_for_row(warehouse, sheet: str) -> None:
    leakwatch, con = warehouse
    spec = SHEETS[sheet]
    expected = read_sheet(leakwatch.var_dir / "sandbox" / "sheets" / f"{sheet}.csv", spec)
    assert expected, f"{sheet}.csv is empty: the test would prove nothing"
    columns = list(spec.columns)
    loaded = con.execute(f"select {', '.join(columns)} from raw_sheets.{sheet}").fetchall()
    as_rows = sorted(tuple(_normalise(v) for v in row) for row in loaded)
    assert as_rows == sorted(tuple(_normalise(r[c]) for c in columns) for r in expected)


def test_staging_keeps_every_leak_sheet_row(warehouse) -> None:
    leakwatch, con = warehouse
    sheets = leakwatch.var_dir / "sandbox" / "sheets"
    for sheet in ("approval_limits", "shipping_labels", "supplier_credits"):
        rows = read_sheet(sheets / f"{sheet}.csv", SHEETS[sheet])
        assert con.execute(f"select count(*) from staging.stg_sheets__{sheet}").fetchone()[0] == len(rows), sheet
    labels = read_sheet(sheets / "shipping_labels.csv", SHEETS["shipping_labels"])
    cost = con.execute("select sum(label_cost_amount) from staging.stg_sheets__shipping_labels").fetchone()[0]
    assert cost == sum(r["cost"] for r in labels)
    matrix = read_sheet(sheets / "refund_decision_matrix.csv", SHEETS["refund_decision_matrix"])
    expected = sorted((r["cause"], r["value_band"], a, a == r["first_choice"])
                      for r in matrix for a in r["allowed"].split(";"))
    staged = con.execute("select cause, value_band, resolution, is_first_choice "
                         "from staging.stg_sheets__refund_decision_matrix").fetchall()
    assert sorted(staged) == expected


def test_reamaze_internal_notes_reach_staging(warehouse) -> None:
    """Every approval internal note at the clock (on a conversation the API lists) is in stg_reamaze__messages as
    an internal note (visibility 1) by a staff user: the leaks area's approvals and the support area's own notes
    (agents writing `approved_by:ops-lead`, a handle no approval limit names)."""
    import pandas as pd

    from sandbox.world import load_world, world_at

    leakwatch, con = warehouse
    world = world_at(load_world(leakwatch.var_dir / "sandbox" / "world"))
    leaks_notes = world.areas["leaks"]["internal_notes"]
    assert len(leaks_notes) > 0, "no internal note at the clock: the test would prove nothing"
    support = world.areas["support"]["messages"]
    support_notes = support[(support["visibility"] == 1) & support["body"].str.contains("approved_by:", na=False)]
    notes = pd.concat([leaks_notes[["conversation_slug", "body"]], support_notes[["conversation_slug", "body"]]])
    notes = notes[notes["conversation_slug"].isin(world.areas["support"]["conversations"]["slug"])]
    staged = set(con.execute("select conversation_slug, body from staging.stg_reamaze__messages "
                             "where visibility = 1 and user_is_staff and body like '%approved_by:%'").fetchall())
    assert staged == set(zip(notes["conversation_slug"], notes["body"], strict=True))
    assert set(zip(leaks_notes["conversation_slug"], leaks_notes["body"], strict=True)) & staged


def test_full_gross_profit_equals_ground_truth_per_order(warehouse) -> None:
    """int_orders__profit (labels of the order's fulfilments + Stripe fees, at the paid date) equals the leaks
    ground truth `order_profit` order by order."""
    leakwatch, con = warehouse
    con.execute(f"attach '{leakwatch.var_dir / 'sandbox' / 'ground_truth.duckdb'}' as truth (read_only)")
    try:
        rows = con.execute("""
            with served as (
                select cast(regexp_extract(order_id, '([0-9]+)$', 1) as bigint) as order_id, label_cost,
                       payment_fees, gross_profit
                from intermediate.int_orders__profit
            )
            select served.order_id, truth_profit.order_id, served.label_cost, truth_profit.label_cost,
                   served.payment_fees, truth_profit.payment_fees, served.gross_profit, truth_profit.gross_profit
            from served full join truth.main.order_profit as truth_profit on served.order_id = truth_profit.order_id
        """).fetchall()
    finally:
        con.execute("detach truth")
    assert rows and sum(1 for r in rows if r[3]) > 0 and sum(1 for r in rows if r[5]) > 0
    wrong = [r for r in rows if r[0] is None or r[1] is None
             or any(abs(float(r[i]) - float(r[i + 1])) > 0.005 for i in (2, 4, 6))]
    assert wrong == [], wrong[:5]


def test_gross_profit_kpi_rows_are_the_full_definition(warehouse) -> None:
    """`gross_profit` is verified from the leaks area (full definition) and every served row equals it."""
    from sandbox.build import WAREHOUSE_METRICS

    leakwatch, _ = warehouse
    assert "gross_profit" in WAREHOUSE_METRICS["leaks"]
    with duckdb.connect(str(leakwatch.var_dir / "sandbox" / "ground_truth.duckdb"), read_only=True) as truth:
        expected = {(s, str(p), d): v for s, p, d, v in truth.execute(
            "select store_id, period_start, dimension_value, value from kpis where metric = 'gross_profit'").fetchall()}
        parked = truth.execute("select count(*) from area_kpis where metric = 'gross_profit'").fetchone()[0]
    with duckdb.connect(str(leakwatch.serving), read_only=True) as served:
        got = {(s, str(p), d): v for s, p, d, v in served.execute(
            "select store_id, period_start, dimension_value, value from marts.kpis "
            "where metric = 'gross_profit'").fetchall()}
    assert expected and parked == 0
    assert got.keys() == expected.keys()
    assert all(abs(got[k] - expected[k]) <= 0.005 for k in expected), {
        k: (got[k], expected[k]) for k in expected if abs(got[k] - expected[k]) > 0.005}


def test_labels_are_classified_like_the_world(warehouse) -> None:
    """int_leaks__labels: a label is `fulfilment` when it ships a base order, `replacement` when it ships a
    replacement order, `return` for a merchant-paid return label (the world's own labels table)."""
    import pandas as pd

    leakwatch, con = warehouse
    world = leakwatch.var_dir / "sandbox" / "world" / "leaks"
    labels = pd.read_parquet(world / "shipping_labels.parquet")
    replacements = set(pd.read_parquet(world / "replacement_orders.parquet")["order_id"])
    truth = {int(i): ("return" if d == "return" else "replacement" if o in replacements else "fulfilment")
             for i, d, o in zip(labels["label_id"], labels["direction"], labels["order_id"], strict=True)}
    served = dict(con.execute("select label_id, label_kind from intermediate.int_leaks__labels").fetchall())
    assert served and set(served.values()) == {"fulfilment", "replacement", "return"}
    assert served == {i: k for i, k in truth.items() if i in served}
    assert len(served) == con.execute("select count(*) from staging.stg_sheets__shipping_labels").fetchone()[0]


def test_recoveries_equal_ground_truth_per_order(warehouse) -> None:
    """int_leaks__recoveries equals, per order with a leak event, the recoveries ground truth gives its events."""
    leakwatch, con = warehouse
    con.execute(f"attach '{leakwatch.var_dir / 'sandbox' / 'ground_truth.duckdb'}' as truth (read_only)")
    try:
        truth = dict(con.execute("select order_id, sum(recoveries) from truth.main.leak_events_full "
                                 "group by order_id having sum(recoveries) <> 0").fetchall())
    finally:
        con.execute("detach truth")
    served = {int(o.rsplit("/", 1)[-1]): float(r) for o, r in con.execute(
        "select order_id, recoveries from intermediate.int_leaks__recoveries").fetchall()}
    assert truth, "no recovery in ground truth: the test would prove nothing"
    assert {o: round(served.get(o, 0.0), 2) for o in truth} == {o: round(v, 2) for o, v in truth.items()}
