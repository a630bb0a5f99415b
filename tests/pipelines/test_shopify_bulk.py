"""The Shopify source's bulk backfill against the paginated path (small preset), and a run under throttling.

One shop of the small world (~2,700 orders) is loaded three ways: paging a whole small world through the
1,000-cost queries takes ~2,000 calls, too long for the suite; the other shops run the same code.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pandas as pd
import pytest

from pipelines.sources.shopify import shopify_source
from pipelines.sources.shopify.settings import TABLE_COLUMNS
from sandbox.emulators.shopify import create_app
from sandbox.world import load_world, world_at
from sandbox.world.generate import generate_world
from tests.emulators.helpers import serve
from tests.emulators.shopify_view import shopify_view

SMALL_SEED = 11
TABLES = tuple(TABLE_COLUMNS)  # the order tables (bulk and paging fill them; objects have their own tests)


def _load(root: Path, name: str, shops: list[dict[str, str]], tokens: dict[str, str], **options: Any) -> Path:
    path = root / f"{name}.duckdb"
    pipeline = dlt.pipeline(pipeline_name=f"test_shopify_{name}", destination=dlt.destinations.duckdb(str(path)),
                            dataset_name="raw_shopify", pipelines_dir=str(root / f"dlt_{name}"))
    pipeline.run(shopify_source(shops=shops, access_tokens=tokens, **options))
    return path


def _rows(path: Path, table: str, store_id: str | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        where = "" if store_id is None else f"where store_id = '{store_id}'"
        frame = con.execute(f"select * exclude (_dlt_load_id, _dlt_id) from raw_shopify.{table} {where}").df()
    finally:
        con.close()
    return frame[sorted(frame.columns)].sort_values("id").reset_index(drop=True)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("shopify_bulk")
    world_dir = generate_world("small", SMALL_SEED, root)
    world = world_at(load_world(world_dir))
    tokens = dict(zip(world.stores["store_id"], world.stores["access_token"], strict=True))
    return {"root": root, "world_dir": world_dir, "world": world, "tokens": tokens}


def _shops(base: str, world: Any) -> list[dict[str, str]]:
    store = world.stores.iloc[0]
    return [{"store_id": store["store_id"], "base_url": f"{base}/shops/{store['shop']}"}]


@pytest.fixture(scope="module")
def both_paths(small: dict[str, Any]) -> dict[str, Any]:
    """The same world loaded by a bulk backfill and by paging from the start (a bucket that never limits)."""
    app = create_app(small["world_dir"], bucket_size=1e9, restore_rate=1e9)
    with serve(app) as base:
        shops = _shops(base, small["world"])
        bulk = _load(small["root"], "bulk", shops, small["tokens"])
        paged = _load(small["root"], "paged", shops, small["tokens"], backfill="paginated")
        stats = app.state.stats.snapshot()
        ops = app.state.bulk_operations
        bulk_ops = [ops.current(small["world"].stores.iloc[0]["shop"])]
    return {"bulk": bulk, "paged": paged, "stats": stats, "bulk_ops": bulk_ops}


def test_first_run_of_every_shop_is_a_completed_bulk_operation(both_paths: dict[str, Any]) -> None:
    assert all(op is not None and op.status == "COMPLETED" and op.root_object_count > 0
               for op in both_paths["bulk_ops"])


def _expected_counts(world: Any, orders: pd.DataFrame) -> dict[str, int]:
    """Rows of each order table for `orders` (as Shopify shows them, `shopify_view`): their children, returns,
    and the store credit of their customers in the store."""
    view = shopify_view(world)
    ids = orders["order_id"]
    refunds = world.refunds[world.refunds["order_id"].isin(ids)]
    returns = world.areas["leaks"]["returns"]
    credits = world.areas["leaks"]["store_credit_transactions"]
    credits = credits[credits["customer_id"].isin(orders["customer_id"]) & credits["store_id"].isin(orders["store_id"])]
    return {
        "orders": len(ids), "order_line_items": int(view["line_items"]["order_id"].isin(ids).sum()),
        "order_transactions": int(world.transactions["order_id"].isin(ids).sum()), "refunds": len(refunds),
        "refund_line_items": int(world.refund_line_items["refund_id"].isin(refunds["refund_id"]).sum()),
        "returns": int(returns["order_id"].isin(ids).sum()),
        "return_line_items": int(returns["order_id"].isin(ids).sum()),  # one line per return in the world
        "store_credit_transactions": len(credits),
    }


def test_bulk_backfill_yields_exactly_the_paginated_rows(both_paths: dict[str, Any], small: dict[str, Any]) -> None:
    world = small["world"]
    view = shopify_view(world)["orders"]
    expected = _expected_counts(world, view[view["store_id"] == world.stores.iloc[0]["store_id"]])
    assert expected["refunds"] > 0 and expected["refund_line_items"] > 0
    assert expected["returns"] > 0 and expected["store_credit_transactions"] > 0
    for table in TABLES:
        bulk, paged = _rows(both_paths["bulk"], table), _rows(both_paths["paged"], table)
        assert len(bulk) == expected[table], table
        pd.testing.assert_frame_equal(bulk, paged, check_dtype=True, obj=table)
    assert _rows(both_paths["bulk"], "refund_line_items")["id"].is_unique


def test_throttled_incremental_run_completes_with_the_right_rows(both_paths: dict[str, Any],
                                                                 small: dict[str, Any]) -> None:
    """A bulk first run, then a paginated run over the last 10 days while another client of the same app drains
    the shop's bucket every second: the run waits, retries THROTTLED and loads exactly the changed rows."""
    world = small["world"]
    store = world.stores.iloc[0]
    app = create_app(small["world_dir"], bucket_size=2000, restore_rate=2000)
    limiter = app.state.cost_limiter
    stop = threading.Event()

    def drain() -> None:
        while not stop.wait(1.0):
            bucket = limiter.bucket(store["store_id"])
            bucket.take(bucket.available())

    window = 10 * 86400
    with serve(app) as base:
        shops = [{"store_id": store["store_id"], "base_url": f"{base}/shops/{store['shop']}"}]
        path = small["root"] / "throttled.duckdb"
        pipeline = dlt.pipeline(pipeline_name="test_shopify_throttled", destination=dlt.destinations.duckdb(str(path)),
                                dataset_name="raw_shopify", pipelines_dir=str(small["root"] / "dlt_throttled"))
        pipeline.run(shopify_source(shops=shops, access_tokens=small["tokens"]))
        throttled_before = limiter.throttled.get(store["store_id"], 0)
        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        try:
            pipeline.run(shopify_source(shops=shops, access_tokens=small["tokens"], lookback_seconds=window))
        finally:
            stop.set()
            drainer.join(5)
    assert limiter.throttled.get(store["store_id"], 0) > throttled_before, "the run really met THROTTLED answers"

    # as Shopify shows them: a fulfillment, a return change or store credit also bumps the order's updatedAt,
    # and replacement orders are orders (WORLD.md, "Shopify objects"; leaks.md)
    shown = shopify_view(world)["orders"]
    orders = shown[shown["store_id"] == store["store_id"]]
    since = orders["updated_at"].max() - pd.Timedelta(seconds=window)
    expected = _expected_counts(world, orders[orders["updated_at"] >= since])
    assert 100 < expected["orders"] < len(orders) / 2
    counts = pipeline.last_trace.last_normalize_info.row_counts
    assert {table: counts.get(table, 0) for table in TABLES} == expected
    for table in TABLES:
        pd.testing.assert_frame_equal(_rows(path, table), _rows(both_paths["bulk"], table), obj=table)


def test_a_bulk_file_cut_mid_body_is_read_again(small: dict[str, Any]) -> None:
    """The bulk result is streamed, so a body cut short breaks while it is read, past the retries of dlt's client:
    the download starts again and yields the same orders. The emulator cuts 50 % of bodies; the seeds are walked
    until one cuts the first read and not the next (each seed decides the same way every time)."""
    import httpx

    from pipelines.sources.shopify.bulk import BULK_QUERY, download_orders, run_bulk_query
    from pipelines.sources.shopify.helpers import graphql_url
    from pipelines.sources.shopify.throttle import ShopifyClient

    store = small["world"].stores.iloc[0]
    with serve(create_app(small["world_dir"], bucket_size=1e9, restore_rate=1e9)) as base:
        client = ShopifyClient(graphql_url(f"{base}/shops/{store['shop']}"), small["tokens"][store["store_id"]])
        url = run_bulk_query(client, BULK_QUERY, poll_seconds=0.05)["url"]
        clean = download_orders(url)
        outcomes = []
        for seed in range(12):
            httpx.post(f"{base}/__control", json={"reset": True})
            httpx.post(f"{base}/__control", json={"seed": seed, "truncate": 0.5})
            try:
                orders = download_orders(url)
            except Exception as exc:  # noqa: BLE001 - a seed whose five reads were all cut
                orders = exc
            cut = httpx.get(f"{base}/__control").json()["injected"].get("truncate", 0)
            outcomes.append((seed, cut, orders))
            if cut and isinstance(orders, list):
                break
    assert clean, "the shop has orders"
    seed, cut, orders = outcomes[-1]
    assert cut >= 1 and isinstance(orders, list), [(s, c, type(o).__name__) for s, c, o in outcomes]
    assert [o["id"] for o in orders] == [o["id"] for o in clean]
    assert orders == clean
