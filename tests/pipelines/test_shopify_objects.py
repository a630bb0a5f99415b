"""Every Shopify object the dlt source loads equals the world at the clock, before and after `sandbox advance`.

One `small` sandbox, the Shopify emulator in-process on a free port, two runs of the source into a private
DuckDB: at the generated clock, then after `advance(days=3)`. The second run must again equal the world, and the
emulator's counters must show it read only the orders updated since each shop's cursor minus the look-back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb
import httpx
import pandas as pd
import pytest

from pipelines.sources.shopify import TABLES, shopify_source
from pipelines.sources.shopify.settings import LOOKBACK_SECONDS
from sandbox.build import advance, generate
from sandbox.emulators.shopify import create_app
from sandbox.world import World, load_world, world_at
from tests.emulators.helpers import serve

SEED = 11
ADVANCE_DAYS = 3


def _gids(kind: str, ids: pd.Series, store_ids: pd.Series) -> set[tuple[str, str]]:
    return {(s, f"gid://shopify/{kind}/{i}") for s, i in zip(store_ids, ids)}


def shopify_orders(world: World) -> pd.DataFrame:
    """Orders as Shopify shows them (WORLD.md, leaks.md): replacement orders are orders too, and `updated_at` is
    also bumped by the order's latest fulfillment, return change and store credit issued from it."""
    leaks = world.areas["leaks"]
    rep = leaks["replacement_orders"]
    stale = world.meta.get("stale_store")
    if stale:
        rep = rep[~((rep["store_id"] == stale["store_id"]) & (rep["created_at"] > pd.Timestamp(stale["frozen_at"])))]
    orders = pd.concat([world.orders, rep[list(world.orders.columns)]], ignore_index=True)
    ret = leaks["returns"]
    changes = pd.concat([
        world.areas["fulfilment"]["fulfillments"][["order_id", "created_at"]].rename(columns={"created_at": "at"}),
        *(ret[["order_id", c]].rename(columns={c: "at"}) for c in ("requested_at", "approved_at", "received_at",
                                                                     "closed_at")),
        leaks["store_credit_transactions"][["order_id", "created_at"]].rename(columns={"created_at": "at"}),
    ]).dropna()
    last = orders["order_id"].map(changes.groupby("order_id")["at"].max())
    orders["updated_at"] = orders["updated_at"].where(last.isna() | (last <= orders["updated_at"]), last)
    return orders


def shopify_updated_at(world: World) -> pd.Series:
    return shopify_orders(world)["updated_at"]


def expected_objects(world: World) -> dict[str, set[tuple[str, str]]]:
    """(store_id, GID) of every object of every table, from the world at its clock."""
    orders = shopify_orders(world)
    leaks = world.areas["leaks"]
    credits = leaks["store_credit_transactions"]
    store_of = orders.set_index("order_id")["store_id"]
    lines = pd.concat([world.line_items, world.areas["leaks"]["replacement_line_items"]])
    lines = lines[lines["order_id"].isin(store_of.index)]
    area = world.areas["fulfilment"]
    fl = area["fulfillments"][area["fulfillments"]["order_id"].isin(store_of.index)]
    fli = area["fulfillment_line_items"].merge(fl[["fulfillment_id", "order_id"]], on="fulfillment_id")
    refund_order = world.refunds.set_index("refund_id")["order_id"]
    rli = world.refund_line_items
    skus = world.skus["sku"]
    locations = area["locations"]
    return {
        "orders": _gids("Order", orders["order_id"], orders["store_id"]),
        "order_line_items": _gids("LineItem", lines["line_item_id"], lines["order_id"].map(store_of)),
        "order_transactions": _gids("OrderTransaction", world.transactions["transaction_id"],
                                    world.transactions["order_id"].map(store_of)),
        "refunds": _gids("Refund", world.refunds["refund_id"], world.refunds["order_id"].map(store_of)),
        "refund_line_items": _gids("RefundLineItem", rli["refund_line_item_id"],
                                   rli["refund_id"].map(refund_order).map(store_of)),
        "fulfillments": _gids("Fulfillment", fl["fulfillment_id"], fl["order_id"].map(store_of)),
        "fulfillment_line_items": _gids("FulfillmentLineItem", fli["fulfillment_line_item_id"],
                                        fli["order_id"].map(store_of)),
        # variants by SKU (their ids are the emulator's): each store sells every SKU of its brand
        "product_variants": {(store.store_id, sku) for store in world.stores.itertuples()
                             for sku in skus[skus.str.startswith(store.brand[:3].upper() + "-")]},
        "returns": _gids("Return", leaks["returns"]["return_id"], leaks["returns"]["order_id"].map(store_of)),
        "return_line_items": _gids("ReturnLineItem", leaks["returns"]["return_id"],
                                   leaks["returns"]["order_id"].map(store_of)),
        "store_credit_transactions": _gids("StoreCreditAccountCreditTransaction",
                                           credits["store_credit_transaction_id"], credits["store_id"]),
        "locations": {(store.store_id, f"gid://shopify/Location/{loc.location_id}")
                      for store in world.stores.itertuples() for loc in locations.itertuples()
                      if loc.kind == "supplier" or loc.market == store.market},
    }


@dataclass
class Run:
    world: World
    loaded: dict[str, list[tuple[str, str]]]  # table → (store_id, key) of every warehouse row
    stats: dict[str, Any]


def _warehouse_rows(path: Path) -> dict[str, list[tuple[str, str]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {table: con.execute(f"select store_id, {'sku' if table == 'product_variants' else 'id'} "
                                   f"from raw_shopify.{table}").fetchall() for table in TABLES}
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    out = tmp_path_factory.mktemp("shopify_objects")
    generate("small", SEED, out)
    world_dir = out / "world"
    stores = load_world(world_dir).stores
    tokens = dict(zip(stores["store_id"], stores["access_token"]))
    path = out / "w.duckdb"
    pipeline = dlt.pipeline(pipeline_name="test_shopify_objects", destination=dlt.destinations.duckdb(str(path)),
                            dataset_name="raw_shopify", pipelines_dir=str(out / "dlt"))
    # a Shopify Plus-sized bucket: throttling is tested in test_shopify_bulk.py; here it would only cost minutes
    with serve(create_app(world_dir, bucket_size=20_000, restore_rate=1_000)) as base_url, \
            httpx.Client(timeout=30) as http:
        shops = [{"store_id": s.store_id, "base_url": f"{base_url}/shops/{s.shop}"} for s in stores.itertuples()]
        done = []
        for step in range(2):
            if step:
                advance(out, ADVANCE_DAYS)
            http.post(f"{base_url}/__stats/reset").raise_for_status()
            pipeline.run(shopify_source(shops=shops, access_tokens=tokens))
            done.append(Run(world_at(load_world(world_dir)), _warehouse_rows(path),
                            http.get(f"{base_url}/__stats").json()))
    yield done[0], done[1]


def _assert_equal_to_world(run: Run) -> None:
    expected = expected_objects(run.world)
    for table in TABLES:
        rows = run.loaded[table]
        assert len(rows) == len(set(rows)), f"{table}: duplicate rows"
        assert set(rows) == expected[table], f"{table}: warehouse differs from the world"
    assert len(expected["fulfillments"]) > 0.8 * len(expected["orders"]), "most orders ship"


def test_first_run_equals_the_world_at_the_clock(runs: tuple[Run, Run]) -> None:
    _assert_equal_to_world(runs[0])


def test_after_advance_the_second_run_equals_the_world_again(runs: tuple[Run, Run]) -> None:
    first, second = runs
    assert len(second.loaded["orders"]) > len(first.loaded["orders"]), "advance adds orders"
    assert len(second.loaded["fulfillments"]) > len(first.loaded["fulfillments"])
    _assert_equal_to_world(second)


def test_second_run_reads_only_orders_updated_since_the_cursor_minus_the_lookback(runs: tuple[Run, Run]) -> None:
    first, second = runs
    before = shopify_orders(first.world).assign(updated=lambda d: d["updated_at"].dt.floor("s"))
    after = shopify_orders(second.world).assign(updated=lambda d: d["updated_at"].dt.floor("s"))
    for store_id, cursor in before.groupby("store_id")["updated"].max().items():
        mine = after[after["store_id"] == store_id]
        window = int((mine["updated"] >= cursor - pd.Timedelta(seconds=LOOKBACK_SECONDS)).sum())
        served = second.stats["stores"][store_id]["root_fields"]["orders"]["objects"]
        # two passes over the same window: orders (with lines, transactions, refunds) and their fulfillments
        assert served == 2 * window, store_id
        assert window < len(mine) / 4, f"{store_id}: the window is a small part of the shop's orders"
        assert first.stats["stores"][store_id]["root_fields"]["orders"]["objects"] == 2 * len(
            before[before["store_id"] == store_id])


def test_new_raw_tables_are_dagster_assets_feeding_their_staging_models(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    patch = pytest.MonkeyPatch()
    patch.setenv("LEAKWATCH_VAR", str(tmp_path_factory.mktemp("var")))
    try:
        from pipelines.run import ensure_dbt_manifest

        ensure_dbt_manifest()
        from dagster import AssetKey

        from pipelines.definitions import defs

        graph = defs.resolve_asset_graph()
    finally:
        patch.undo()
    staging = {"fulfillments": "stg_shopify__fulfillments", "fulfillment_line_items": "stg_shopify__fulfillment_lines",
               "product_variants": "stg_shopify__product_variants", "locations": "stg_shopify__locations",
               "returns": "stg_shopify__returns", "return_line_items": "stg_shopify__return_lines",
               "store_credit_transactions": "stg_shopify__store_credit_transactions"}
    for table, model in staging.items():
        raw = AssetKey(["raw_shopify", table])
        assert raw in graph.get(AssetKey(["staging", model])).parent_keys, table
        assert graph.get(raw).group_name == "sources_shopify"


def _requested_cost(selection_set: Any, parent: Any, variables: dict[str, int]) -> int:
    """Shopify's documented requested cost of a selection: object 1 (+ its children), scalar/enum 0,
    connection or sized list 2 + `first` × the cost of one node."""
    import graphql

    total = 0
    for node in selection_set.selections:
        field = parent.fields[node.name.value]
        inner = graphql.get_named_type(field.type)
        if not isinstance(inner, graphql.GraphQLObjectType) or node.name.value in ("pageInfo",):
            continue
        args = {a.name.value: a.value for a in node.arguments}
        first = args.get("first")
        size = (variables[first.name.value] if isinstance(first, graphql.VariableNode)
                else int(first.value) if first is not None else None)
        if inner.name.endswith("Connection"):
            body = next(s for s in node.selection_set.selections if s.name.value in ("nodes", "edges"))
            node_type = graphql.get_named_type(inner.fields["nodes"].type)
            if body.name.value == "edges":
                body = next(s for s in body.selection_set.selections if s.name.value == "node")
            total += 2 + size * (1 + _requested_cost(body.selection_set, node_type, variables))
        elif size is not None:
            total += 2 + size * (1 + _requested_cost(node.selection_set, inner, variables))
        else:
            total += 1 + _requested_cost(node.selection_set, inner, variables)
    return total


@pytest.mark.parametrize("name,page_size,expected", [
    ("order_fulfillments", "FULFILLMENT_ORDERS_PAGE_SIZE", 932),
    ("product_variants", "VARIANTS_PAGE_SIZE", 202),
    ("locations", "LOCATIONS_PAGE_SIZE", 102),
])
def test_object_queries_stay_under_shopifys_single_query_cost_limit(name: str, page_size: str, expected: int) -> None:
    import graphql

    from pipelines.sources.shopify import objects
    from pipelines.sources.shopify.helpers import load_query
    from sandbox.emulators.shopify_schema import shopify_schema

    schema = shopify_schema()
    document = graphql.parse(load_query(name))
    assert not graphql.validate(schema, document)
    (operation,) = document.definitions
    cost = _requested_cost(operation.selection_set, schema.query_type, {"first": getattr(objects, page_size)})
    assert cost == expected, "keep the cost noted in the .graphql file and objects.py in step"
    assert cost <= 1000
