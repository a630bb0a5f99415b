"""`sandbox generate` computes each expensive view once, and plants cancelled orders the ground truth follows.

Timing the tiny preset in a test is flaky on a shared box (bench/sandbox_generation.py measures it); these guard
the structure that keeps it fast: one `world_at` view per generate, one leak computation, no web stack imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import sandbox.ground_truth_leaks as ground_truth_leaks
import sandbox.world as world_module
from sandbox.build import DEFAULT_PORTS, generate
from sandbox.world import load_world, world_at
from sandbox.world.generate import CANCEL_REASONS

CAUSE_OF_REASON = {reason: cause for cause, reason in CANCEL_REASONS.items()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """tiny seed 7, generated once with the view and the leak computation counted."""
    out = tmp_path_factory.mktemp("tiny_once")
    calls = {"world_at": 0, "leaks": 0}
    view_at, leaks = world_module._view_at, ground_truth_leaks.compute_kpis_and_tables

    def counted_view_at(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["world_at"] += 1
        return view_at(*args, **kwargs)

    def counted_leaks(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["leaks"] += 1
        return leaks(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(world_module, "_view_at", counted_view_at)
        patch.setattr(ground_truth_leaks, "compute_kpis_and_tables", counted_leaks)
        generate("tiny", 7, out)
    return out, calls


def test_generate_computes_the_world_at_its_clock_once(tiny: tuple[Path, dict[str, int]]) -> None:
    _, calls = tiny
    assert calls == {"world_at": 1, "leaks": 1}


def test_world_at_is_one_view_per_clock_and_fresh_when_the_clock_moves(tiny: tuple[Path, dict[str, int]]) -> None:
    world = load_world(tiny[0] / "world")
    view = world_at(world)
    assert world_at(world) is view and world_at(view) is view
    earlier = pd.Timestamp(world.meta["as_of"]) - pd.Timedelta(days=10)
    assert len(world_at(world, earlier).orders) < len(view.orders)
    world.orders = world.orders.head(10)  # a replaced table is noticed
    assert len(world_at(world).orders) <= 10


def test_config_writer_does_not_import_the_emulators_web_stack() -> None:
    from sandbox.emulators.server import EMULATORS

    assert DEFAULT_PORTS == {name: spec.default_port for name, spec in EMULATORS.items()}
    probe = ("import sys; import sandbox.build; "
             "print(sorted(m for m in ('uvicorn', 'starlette', 'graphql') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_cancelled_orders_are_refunded_whole_and_never_ship(tiny: tuple[Path, dict[str, int]]) -> None:
    world = load_world(tiny[0] / "world")
    cancelled = world.orders[world.orders["cancelled_at"].notna()]
    assert set(cancelled["cancel_reason"]) == {"INVENTORY", "FRAUD"}
    refunds = world.refunds[world.refunds["order_id"].isin(cancelled["order_id"])]
    assert refunds["order_id"].is_unique and set(refunds["order_id"]) == set(cancelled["order_id"])
    assert (refunds["order_id"].map(cancelled.set_index("order_id")["cancelled_at"]) == refunds["created_at"]).all()
    assert (refunds["true_cause"] == refunds["order_id"].map(
        cancelled.set_index("order_id")["cancel_reason"].map(CAUSE_OF_REASON))).all()
    lines = world.refund_line_items[world.refund_line_items["refund_id"].isin(refunds["refund_id"])]
    assert (lines["restock_type"] == "CANCEL").all()
    ordered = world.line_items[world.line_items["order_id"].isin(cancelled["order_id"])]
    assert sorted(lines["line_item_id"]) == sorted(ordered["line_item_id"])
    assert (lines.set_index("line_item_id")["quantity"] == ordered.set_index("line_item_id")["quantity"]).all()
    assert not world.areas["fulfilment"]["fulfillments"]["order_id"].isin(cancelled["order_id"]).any()
    # before the cancellation the API shows an open order
    first = cancelled.sort_values("cancelled_at").iloc[0]
    before = world_at(world, first["cancelled_at"] - pd.Timedelta(seconds=1)).orders.set_index("order_id")
    assert pd.isna(before.loc[first["order_id"], "cancelled_at"])
    assert pd.isna(before.loc[first["order_id"], "cancel_reason"])


def test_cancel_reason_gives_the_cause_when_nobody_wrote_one(tiny: tuple[Path, dict[str, int]]) -> None:
    """METRICS §3: cancelReason INVENTORY → out_of_stock, FRAUD → fraud (inferred); §7 open orders exclude them."""
    out = tiny[0]
    view = world_at(load_world(out / "world"))
    reason = view.orders.set_index("order_id")["cancel_reason"].dropna()
    con = duckdb.connect(str(out / "ground_truth.duckdb"), read_only=True)
    try:
        events = con.execute("select order_id, event_type, cause, cause_source from leak_events_full").df()
    finally:
        con.close()
    events = events[events["order_id"].isin(reason.index)]
    assert len(events) >= len(reason)
    assert (events["cause"] == events["order_id"].map(reason).map(CAUSE_OF_REASON)).all()
    inferred = events[events["cause_source"] == "inferred"]
    assert len(inferred) >= 2, "the tiny world must exercise the cancelReason inference"
    untagged = view.refunds[view.refunds["order_id"].isin(reason.index) & view.refunds["note_cause"].isna()
                            & view.refunds["tag_cause"].isna()]
    assert set(inferred["order_id"]) <= set(untagged["order_id"])
