"""The planted leaks are visible in the ground truth: they rank first on their dimension."""

from __future__ import annotations

from pathlib import Path

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
