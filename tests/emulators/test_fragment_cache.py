"""The Shopify emulator's cache of completed Orders (fast_execution.FragmentCache) answers exactly what plain
graphql-core execution answers, on first use and from the cache, and keys on what the result depends on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphql
import orjson
import pytest

from sandbox.emulators.fast_execution import FragmentCache
from sandbox.emulators.shopify import execute, served_schema
from sandbox.emulators.shopify_resolvers import RequestContext
from sandbox.emulators.shopify_world import ShopifyWorld

PIPELINE_ORDERS = (Path(__file__).resolve().parents[2] / "pipelines/sources/shopify/queries/orders.graphql").read_text()
WITH_FRAGMENT_AND_VARIABLES = """
query Q($first: Int!, $after: String, $items: Int!, $withItems: Boolean!) {
  orders(first: $first, after: $after, sortKey: CREATED_AT) {
    edges { cursor node { ...O } }
    pageInfo { hasNextPage endCursor }
  }
}
fragment O on Order {
  id name tags
  lineItems(first: $items) @include(if: $withItems) { nodes { id sku quantity } pageInfo { hasNextPage } }
  refunds(first: 5) { id totalRefundedSet { presentmentMoney { amount currencyCode } } }
}
"""
ALIASES = """
query A($first: Int!) {
  orders(first: $first, reverse: true) {
    nodes { gid: id n: name x: totalShippingPriceSet { shopMoney { amount } }
            transactions(first: 2) { kind parentTransaction { id } } }
  }
  one: order(id: "gid://shopify/Order/1") { id }
}
"""
WITH_ERRORS = "query E($first: Int!) { orders(first: $first) { nodes { id customer { id displayName phone } } } }"
UNSERVED_NON_NULL = "{ orders(first: 3) { nodes { id displayFulfillmentStatus } } }"

CASES = [
    (PIPELINE_ORDERS, {"first": 60}),
    (WITH_FRAGMENT_AND_VARIABLES, {"first": 25, "items": 2, "withItems": True}),
    (WITH_FRAGMENT_AND_VARIABLES, {"first": 25, "items": 1, "withItems": True}),
    (WITH_FRAGMENT_AND_VARIABLES, {"first": 25, "items": 1, "withItems": False}),
    (ALIASES, {"first": 30}),
    (WITH_ERRORS, {"first": 5}),
    (UNSERVED_NON_NULL, {}),
]


@pytest.fixture(scope="module")
def world(world_dir: Path) -> ShopifyWorld:
    return ShopifyWorld.load(world_dir)


def _plain(world: ShopifyWorld, store: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """graphql-core's own execution, serialized the way the emulator serializes its bodies."""
    schema, fields = served_schema()
    ctx = RequestContext(world=world, store=store, record=lambda *_: None, order_search_fields=fields)
    result = graphql.execute(schema, graphql.parse(query), root_value={}, context_value=ctx,
                             variable_values=variables)
    return orjson.loads(orjson.dumps({"data": result.data,
                                      "errors": [e.formatted for e in result.errors or ()]}))


def _cached(world: ShopifyWorld, store: Any, query: str, variables: dict[str, Any],
            context_class: type) -> dict[str, Any]:
    _, fields = served_schema()
    ctx = RequestContext(world=world, store=store, record=lambda *_: None, order_search_fields=fields)
    body = orjson.loads(orjson.dumps(execute(ctx, query, variables, None, context_class)))
    return {"data": body.get("data"), "errors": body.get("errors", [])}


def test_cached_execution_equals_graphql_core(world: ShopifyWorld) -> None:
    store = max(world.stores.values(), key=lambda s: len(s.orders))
    cache = FragmentCache()
    context_class = cache.context_class()
    for round_ in range(2):  # first use fills the cache, the second round is served from it
        for query, variables in CASES:
            expected = _plain(world, store, query, variables)
            assert _cached(world, store, query, variables, context_class) == expected, (round_, query, variables)
    assert cache.hits > 0 and cache.misses > 0
    errors = _plain(world, store, WITH_ERRORS, {"first": 5})["errors"]
    assert errors, "WITH_ERRORS is meant to exercise error propagation (never cached)"


def test_a_page_walk_served_from_the_cache_is_identical(world: ShopifyWorld) -> None:
    store = max(world.stores.values(), key=lambda s: len(s.orders))
    cache = FragmentCache()
    context_class = cache.context_class()
    walks = []
    for _ in range(2):
        pages, after = [], None
        while True:
            body = _cached(world, store, PIPELINE_ORDERS, {"first": 50, "after": after}, context_class)
            pages.append(body)
            info = body["data"]["orders"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        walks.append(pages)
    assert walks[0] == walks[1]
    orders = sum(len(p["data"]["orders"]["nodes"]) for p in walks[0])
    assert orders == len(store.orders) and cache.hits == orders and cache.misses == orders
