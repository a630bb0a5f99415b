"""The leaks area through Shopify: returns, replacement orders, store credit and refund staff, extracted by the
dlt source from the emulator, equal the world at the clock, before and after the clock moves.

One `tiny` sandbox (`leakwatch sandbox generate`), the emulator in-process on a free port, two source runs into
a private DuckDB: at the generated clock (bulk backfill), then 4 days later (`leakwatch sandbox advance`;
incremental on `updated_at`).
Every query the source sends is validated against the vendored schema by the emulator (an invalid one answers
with errors, which the source raises on).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dlt
import duckdb
import pandas as pd
import pytest

from pipelines.sources.shopify import shopify_source
from sandbox.emulators.shopify import create_app
from sandbox.world import World, load_world, world_at
from tests.conftest import Leakwatch
from tests.emulators.helpers import serve

SEED = 23
ADVANCE = pd.Timedelta(days=4)


@dataclass
class Run:
    world: World  # at the run's clock
    tables: dict[str, pd.DataFrame]  # raw_shopify tables after the run


def _read(path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"select * from raw_shopify.{t}").df()
                for t in ("orders", "order_line_items", "refunds", "returns", "return_line_items",
                          "store_credit_transactions")}
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    leakwatch = Leakwatch(tmp_path_factory.mktemp("shopify_leaks"))
    generated = leakwatch("sandbox", "generate", "--preset", "tiny", "--seed", str(SEED), "--free-ports")
    assert generated.returncode == 0, generated.stderr[-2000:]
    out, world_dir = leakwatch.var_dir, leakwatch.var_dir / "sandbox" / "world"
    full = load_world(world_dir)
    stores = full.stores
    tokens = dict(zip(stores["store_id"], stores["access_token"]))
    path = out / "w.duckdb"
    pipeline = dlt.pipeline(pipeline_name="test_shopify_leaks", destination=dlt.destinations.duckdb(str(path)),
                            dataset_name="raw_shopify", pipelines_dir=str(out / "dlt"))
    done = []
    with serve(create_app(world_dir, bucket_size=20_000, restore_rate=1_000)) as base_url:
        shops = [{"store_id": s.store_id, "base_url": f"{base_url}/shops/{s.shop}"} for s in stores.itertuples()]
        for step in range(2):
            if step:  # the emulator sees the clock `leakwatch sandbox advance` moves
                advanced = leakwatch("sandbox", "advance", "--days", str(ADVANCE / pd.Timedelta(days=1)))
                assert advanced.returncode == 0, advanced.stdout[-2000:] + advanced.stderr[-2000:]
            pipeline.run(shopify_source(shops=shops, access_tokens=tokens))
            done.append(Run(world_at(load_world(world_dir)), _read(path)))
    yield done[0], done[1]


def _num(gids: pd.Series) -> pd.Series:
    return gids.str.rsplit("/", n=1).str[1].astype("int64")


def _ts(values: pd.Series) -> pd.Series:
    """Timestamps as Shopify renders them (whole seconds, UTC)."""
    return pd.to_datetime(values, utc=True).dt.floor("s")


def _assert_returns(run: Run) -> None:
    ret = run.world.areas["leaks"]["returns"].set_index("return_id").sort_index()
    raw = run.tables["returns"].assign(rid=lambda d: _num(d["id"])).set_index("rid").sort_index()
    assert len(ret) > 10, "the world has returns"
    assert list(raw.index) == list(ret.index), "one raw row per return at the clock"
    assert (_num(raw["order_id"]) == ret["order_id"]).all()
    assert (raw["status"] == ret["status"]).all()
    assert (raw["name"] == ret["name"]).all()
    for col, world_col in (("created_at", "requested_at"), ("request_approved_at", "approved_at"),
                           ("received_at", "received_at"), ("closed_at", "closed_at")):
        got, want = _ts(raw[col]), _ts(ret[world_col])
        assert ((got == want) | (got.isna() & want.isna())).all(), col
    lines = run.tables["return_line_items"].assign(rid=lambda d: _num(d["return_id"])).set_index("rid").sort_index()
    assert list(lines.index) == list(ret.index), "one line per return in the world"
    assert (lines["return_reason"] == ret["return_reason"]).all()
    assert (_num(lines["line_item_id"]) == ret["line_item_id"]).all()
    assert (lines["quantity"] == ret["quantity"]).all()


def _assert_replacement_orders(run: Run) -> None:
    rep = run.world.areas["leaks"]["replacement_orders"]
    stale = run.world.meta.get("stale_store")
    if stale:
        rep = rep[~((rep["store_id"] == stale["store_id"]) & (rep["created_at"] > pd.Timestamp(stale["frozen_at"])))]
    raw = run.tables["orders"].assign(oid=lambda d: _num(d["id"])).set_index("oid")
    assert len(rep) > 3, "the world has replacement orders"
    assert set(rep["order_id"]) <= set(raw.index)
    assert set(raw.index) == set(run.world.orders["order_id"]) | set(rep["order_id"])
    got = raw.loc[rep["order_id"]]
    want_tags = [", ".join(t) for t in rep["tags"]]
    assert list(got["tags"]) == want_tags
    assert all(tag.startswith("replacement-for:#") for tag in got["tags"])
    lines = run.tables["order_line_items"]
    rep_lines = lines[_num(lines["order_id"]).isin(rep["order_id"])]
    assert len(rep_lines) == len(rep) and (rep_lines["unit_price_amount"] == 0).all()


def _assert_store_credit(run: Run) -> None:
    credits = run.world.areas["leaks"]["store_credit_transactions"].set_index("store_credit_transaction_id")
    raw = run.tables["store_credit_transactions"].assign(cid=lambda d: _num(d["id"])).set_index("cid")
    assert len(credits) > 10, "the world has store credit"
    assert sorted(raw.index) == sorted(credits.index)
    raw = raw.loc[credits.index]
    assert (_num(raw["order_id"]) == credits["order_id"]).all(), "origin order"
    assert ((raw["amount"] * 100).astype("int64") == credits["amount_cents"]).all()
    assert (raw["currency"] == credits["currency"]).all() and (raw["store_id"] == credits["store_id"]).all()
    assert (_ts(raw["created_at"]) == _ts(credits["created_at"])).all()
    names = run.world.areas["leaks"]["approvers"].set_index("staff")["name"]
    assert (raw["issued_by_name"] == credits["issued_by"].map(names)).all()
    assert (raw["note"].fillna("") == credits["note"].fillna("")).all()


def _assert_refund_staff(run: Run) -> None:
    staff = run.world.areas["leaks"]["refund_staff"].set_index("refund_id")["staff"]
    names = run.world.areas["leaks"]["approvers"].set_index("staff")["name"]
    raw = run.tables["refunds"].assign(rid=lambda d: _num(d["id"])).set_index("rid")
    assert len(raw) == len(run.world.refunds) > 10
    assert (raw["staff_member_name"] == raw.index.map(staff).map(names)).all()
    assert raw["staff_member_id"].str.startswith("gid://shopify/StaffMember/").all()


@pytest.mark.parametrize("step", [0, 1], ids=["first_run", "after_advance"])
def test_leak_objects_equal_the_world_at_the_clock(runs: tuple[Run, Run], step: int) -> None:
    run = runs[step]
    _assert_returns(run)
    _assert_replacement_orders(run)
    _assert_store_credit(run)
    _assert_refund_staff(run)


def test_a_late_return_on_an_old_order_is_extracted_by_the_next_incremental_run(runs: tuple[Run, Run]) -> None:
    first, second = runs
    before = first.world.areas["leaks"]["returns"]
    after = second.world.areas["leaks"]["returns"]
    old_orders = set(first.world.orders["order_id"])
    late = after[~after["return_id"].isin(before["return_id"]) & after["order_id"].isin(old_orders)]
    assert len(late) > 0, "the advance window holds new returns on orders older than the first clock"
    changed = after.merge(before[["return_id", "status"]], on="return_id", suffixes=("", "_before"))
    assert (changed["status"] != changed["status_before"]).any(), "some returns moved on"
    loaded = second.tables["returns"].assign(rid=lambda d: _num(d["id"])).set_index("rid")
    assert set(late["return_id"]) <= set(loaded.index)
    assert (loaded.loc[changed["return_id"], "status"].to_numpy() == changed["status"].to_numpy()).all()
    credits_before = first.world.areas["leaks"]["store_credit_transactions"]
    credits_after = second.world.areas["leaks"]["store_credit_transactions"]
    new_credit = credits_after[~credits_after["store_credit_transaction_id"].isin(
        credits_before["store_credit_transaction_id"]) & credits_after["order_id"].isin(old_orders)]
    assert len(new_credit) > 0
    assert set(new_credit["store_credit_transaction_id"]) <= set(_num(second.tables["store_credit_transactions"]["id"]))
