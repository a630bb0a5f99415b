"""The planted leaks are visible in the ground truth: they rank first on their dimension."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sandbox.build import generate
from sandbox.world import load_world, world_at
from sandbox.world.presets import PLANTED_DEFECT_SUPPLIER


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate("small", 7, out)
    return out


def test_planted_supplier_ranks_first_on_leak_rate(small: Path) -> None:
    """Refund cost per unit of revenue by supplier: the defect-spike supplier leaks most (true events)."""
    world = world_at(load_world(small / "world"))
    lines = world.line_items.merge(world.skus[["sku", "supplier_id"]], on="sku")
    lines["revenue"] = lines["unit_price_cents"] * lines["quantity"] - lines["discount_cents"]
    refunded = world.refund_line_items.merge(lines[["line_item_id", "supplier_id"]], on="line_item_id")
    cost = refunded.groupby("supplier_id")["subtotal_cents"].sum()
    revenue = lines.groupby("supplier_id")["revenue"].sum()
    leak_rate = (cost / revenue).sort_values(ascending=False)
    assert leak_rate.index[0] == PLANTED_DEFECT_SUPPLIER, leak_rate.to_dict()
    assert leak_rate.iloc[0] > 1.5 * leak_rate.iloc[1]


def test_planted_supplier_defects_dominate_its_true_causes(small: Path) -> None:
    world = world_at(load_world(small / "world"))
    first_line = world.line_items.groupby("order_id").head(1).merge(world.skus[["sku", "supplier_id"]], on="sku")
    causes = world.refunds.merge(first_line[["order_id", "supplier_id"]], on="order_id")
    share = causes.groupby("supplier_id")["true_cause"].apply(lambda c: (c == "supplier_defect").mean())
    assert share.idxmax() == PLANTED_DEFECT_SUPPLIER


def test_a_share_of_refunds_carries_no_cause(small: Path) -> None:
    import duckdb

    con = duckdb.connect(str(small / "ground_truth.duckdb"), read_only=True)
    events = con.execute("select cause_source from leak_events").df()
    con.close()
    unknown = (events["cause_source"] == "unknown").mean()
    assert 0.05 < unknown < 0.4, unknown


# ------------------------------------------------------------------ the complete leak ground truth (area `leaks`)


def _truth(small: Path, sql: str):
    import duckdb

    con = duckdb.connect(str(small / "ground_truth.duckdb"), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _ranked(small: Path, dimension: str, by: str = "leak_rate", window: str = "trailing_90d"):
    frame = _truth(small, f"select * from leakage_by_dimension where time_window = '{window}' "
                          f"and dimension = '{dimension}' and revenue > 0")
    return frame.sort_values(by, ascending=False).reset_index(drop=True)


def _signal(small: Path, signal: str) -> str:
    rows = _truth(small, f"select dimension_value from planted_signals where signal = '{signal}'")
    assert len(rows) == 1, signal
    return str(rows["dimension_value"].iloc[0])


@pytest.mark.parametrize("window", ["trailing_90d", "last_full_month"])
def test_planted_supplier_ranks_first_on_ground_truth_leak_rate(small: Path, window: str) -> None:
    ranked = _ranked(small, "supplier", window=window)
    assert ranked["dimension_value"].iloc[0] == _signal(small, "defect_supplier"), ranked.head().to_dict("list")
    assert ranked["leak_rate"].iloc[0] > 1.3 * ranked["leak_rate"].iloc[1]


def test_riskiest_material_sku_belongs_to_the_planted_supplier(small: Path) -> None:
    """Among SKUs with at least 2 % of revenue, the highest leak rate is a SKU of the defect supplier."""
    ranked = _ranked(small, "sku")
    material = ranked[ranked["revenue"] >= 0.02 * ranked["revenue"].sum()]
    top = material["dimension_value"].iloc[0]
    catalog = pd.read_csv(small / "sheets" / "sku_catalog.csv").set_index("sku")["supplier_id"]
    assert catalog[top] == _signal(small, "defect_supplier"), material.head().to_dict("list")


def test_lossy_carrier_market_ranks_first_on_leak_rate(small: Path) -> None:
    # among carriers: `unshipped/<market>` (orders without a parcel, e.g. cancelled for a stock-out and refunded
    # whole) is no carrier, and its leak rate is high by construction
    ranked = _ranked(small, "carrier_market")
    ranked = ranked[~ranked["dimension_value"].str.startswith("unshipped/")]
    assert ranked["dimension_value"].iloc[0] == _signal(small, "lossy_carrier_market"), ranked.head().to_dict("list")


def test_slow_store_ranks_first_on_leak_rate_and_late_delivery_cost(small: Path) -> None:
    slow = _signal(small, "slow_store")
    ranked = _ranked(small, "store")
    assert ranked["dimension_value"].iloc[0] == slow, ranked.to_dict("list")
    late = _truth(small, "select store_id, sum(leak_cost) as cost from leak_events_full "
                         "where cause = 'late_delivery' group by 1 order by 2 desc")
    assert late["store_id"].iloc[0] == slow, late.to_dict("list")


def test_template_skipping_agent_leaks_most_among_agents(small: Path) -> None:
    agents = pd.read_csv(small / "sheets" / "approval_limits.csv")
    agents = set(agents.loc[agents["role"] == "agent", "staff"])
    ranked = _ranked(small, "agent", by="leak_cost")
    ranked = ranked[ranked["dimension_value"].isin(agents)]
    assert ranked["dimension_value"].iloc[0] == _signal(small, "template_skipping_agent"), ranked.head().to_dict(
        "list")
    assert ranked["leak_cost"].iloc[0] > 1.2 * ranked["leak_cost"].iloc[1]


def test_disputes_past_their_deadline_lead_chargeback_leak_cost(small: Path) -> None:
    """Lost chargebacks whose evidence deadline was missed cost more than the answered ones; every planted
    missed-deadline dispute that is lost at the clock is such an event."""
    events = _truth(small, "select object_id, dispute_evidence, leak_cost from leak_events_full "
                           "where event_type = 'chargeback'")
    by_evidence = events.groupby("dispute_evidence")["leak_cost"].sum().sort_values(ascending=False)
    assert by_evidence.index[0] == "missed", by_evidence.to_dict()
    planted = set(_truth(small, "select dimension_value from planted_signals "
                                "where signal = 'dispute_deadline_missed'")["dimension_value"])
    lost = events[events["object_id"].isin(planted)]
    assert len(planted) >= 1
    assert (lost["dispute_evidence"] == "missed").all(), lost.to_dict("list")


def test_a_share_of_leak_cost_has_no_cause(small: Path) -> None:
    events = _truth(small, "select cause_source, leak_cost from leak_events_full")
    share = events.groupby("cause_source")["leak_cost"].sum() / events["leak_cost"].sum()
    assert 0.05 < share["unknown"] < 0.4, share.to_dict()
    assert share["inferred"] > 0.02, share.to_dict()
