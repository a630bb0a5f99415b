"""The dlt Shopify source against the emulator: typed raw tables, exact ids, incremental re-runs."""

from __future__ import annotations

from pathlib import Path

import dlt
import duckdb
import pytest

from pipelines.sources.shopify import shopify_source
from sandbox.emulators.server import start_background_thread
from sandbox.world import load_world, world_at
from sandbox.world.generate import generate_world
from tests.emulators.shopify_view import shopify_view


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("shopify")
    world_dir = generate_world("tiny", 5, root)
    world = world_at(load_world(world_dir))
    store = world.stores.iloc[0]
    keep = world.orders["store_id"] == store["store_id"]
    world.orders = world.orders[keep]
    world.line_items = world.line_items[world.line_items["order_id"].isin(world.orders["order_id"])]
    world.transactions = world.transactions[world.transactions["order_id"].isin(world.orders["order_id"])]
    world.refunds = world.refunds[world.refunds["order_id"].isin(world.orders["order_id"])]
    handle = start_background_thread(world_dir)
    shops = [{"store_id": store["store_id"], "base_url": f"{handle.base_url}/shops/{store['shop']}"}]
    tokens = dict(zip(world.stores["store_id"], world.stores["access_token"]))
    pipeline = dlt.pipeline(pipeline_name="test_shopify", destination=dlt.destinations.duckdb(str(root / "w.duckdb")),
                            dataset_name="raw_shopify", pipelines_dir=str(root / "dlt"))
    pipeline.run(shopify_source(shops=shops, access_tokens=tokens))
    yield pipeline, world, root / "w.duckdb", shops, tokens
    handle.stop()


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_raw_columns_are_typed_as_declared(loaded) -> None:
    _, _, path, _, _ = loaded
    types = dict(_query(path, "select table_name || '.' || column_name, data_type from information_schema.columns "
                              "where table_schema = 'raw_shopify'"))
    assert types["orders.shipping_amount"] == "DECIMAL(18,2)"
    assert types["order_line_items.total_discount_amount"] == "DECIMAL(18,2)"
    assert types["order_line_items.unit_price_amount"] == "DECIMAL(18,2)"
    assert types["order_transactions.amount"] == "DECIMAL(18,2)"
    assert types["orders.cancelled_at"].startswith("TIMESTAMP"), "declared even when every value is null"
    assert types["orders.updated_at"].startswith("TIMESTAMP")
    assert types["product_variants.price"] == "DECIMAL(18,2)"
    assert types["fulfillments.created_at"].startswith("TIMESTAMP")
    assert types["fulfillment_line_items.quantity"] == "BIGINT"


def test_each_raw_table_has_only_its_own_columns(loaded) -> None:
    _, _, path, _, _ = loaded
    columns = {}
    for table, column in _query(path, "select table_name, column_name from information_schema.columns "
                                      "where table_schema = 'raw_shopify' and column_name not like '_dlt%'"):
        columns.setdefault(table, set()).add(column)
    assert "cancel_reason" in columns["orders"] and "cancel_reason" not in columns["order_line_items"]
    assert "sku" not in columns["orders"] and "restock_type" not in columns["refunds"]
    assert "line_item_id" not in columns["fulfillments"] and "tracking_number" not in columns["fulfillment_line_items"]


def test_every_object_at_the_clock_is_loaded_once(loaded) -> None:
    _, world, path, _, _ = loaded
    view = shopify_view(world)  # replacement orders (leaks area) are orders of their store too
    orders = view["orders"][view["orders"]["store_id"] == world.stores.iloc[0]["store_id"]]
    lines = view["line_items"][view["line_items"]["order_id"].isin(orders["order_id"])]
    expected = {
        "orders": {f"gid://shopify/Order/{i}" for i in orders["order_id"]},
        "order_line_items": {f"gid://shopify/LineItem/{i}" for i in lines["line_item_id"]},
        "order_transactions": {f"gid://shopify/OrderTransaction/{i}" for i in world.transactions["transaction_id"]},
        "refunds": {f"gid://shopify/Refund/{i}" for i in world.refunds["refund_id"]},
    }
    for table, ids in expected.items():
        rows = _query(path, f"select id from raw_shopify.{table}")
        assert len(rows) == len(ids), table
        assert {r[0] for r in rows} == ids, table


def test_rerun_fetches_only_the_lookback_and_never_duplicates(loaded) -> None:
    pipeline, world, path, shops, tokens = loaded
    before = _query(path, "select count(*) from raw_shopify.orders")[0][0]
    pipeline.run(shopify_source(shops=shops, access_tokens=tokens))
    counts = pipeline.last_trace.last_normalize_info.row_counts
    assert counts.get("orders", 0) < before / 5, "an unchanged shop re-reads only its look-back window"
    assert _query(path, "select count(*), count(distinct id) from raw_shopify.orders")[0] == (before, before)
