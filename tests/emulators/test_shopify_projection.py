"""The Shopify emulator's projection (fast_execution: compiled selection sets run without graphql-core's
completion machinery) answers exactly what plain graphql-core answers, for every query the extractors send and
for shapes that must fall back (abstract types, nulls in non-null fields, resolver errors); and it really is the
path a page walk takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphql
import orjson
import pytest

from pipelines.sources.shopify import bulk, leaks
from pipelines.sources.shopify.helpers import load_query
from sandbox.emulators.fast_execution import FastExecutionContext, FragmentCache
from sandbox.emulators.shopify import execute, served_schema
from sandbox.emulators.shopify_resolvers import RequestContext
from sandbox.emulators.shopify_world import ShopifyWorld

WITH_RETURNS_AND_TYPENAME = """
query R($first: Int!) {
  orders(first: $first, sortKey: UPDATED_AT, reverse: true) {
    edges { cursor node {
      __typename id returnStatus tags
      returns(first: 3) {
        pageInfo { hasNextPage endCursor }
        nodes { __typename id status
          returnLineItems(first: 3) { nodes { __typename id quantity
            ... on ReturnLineItem { returnReason fulfillmentLineItem { id lineItem { id sku } } } } }
          reverseFulfillmentOrders(first: 1) { nodes { id status
            lineItems(first: 3) { nodes { id dispositions { createdAt type } } } } } }
      }
      fulfillments(first: 5) { id status trackingInfo(first: 2) { number company url } location { id name } }
    } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
PAGED_AFTER = "query P($after: String) { orders(first: 7, after: $after, sortKey: ID) { nodes { id name } } }"
FAILING_RESOLVER = '{ orders(first: 4) { nodes { id lineItems(first: 2, after: "not-a-cursor") { nodes { id } } } } }'
NULL_IN_NON_NULL = "{ orders(first: 3) { nodes { id displayFulfillmentStatus name } } }"

CASES: list[tuple[str, dict[str, Any]]] = [
    (load_query("orders"), {"first": 80}),
    (load_query("order_fulfillments"), {"first": 10}),
    (bulk.ORDERS_PAGE, {"first": 8, "query": "updated_at:>='2020-01-01T00:00:00Z'"}),
    (WITH_RETURNS_AND_TYPENAME, {"first": 120}),
    (PAGED_AFTER, {"after": None}),
    (FAILING_RESOLVER, {}),
    (NULL_IN_NON_NULL, {}),
]


@pytest.fixture(scope="module")
def world(world_dir: Path) -> ShopifyWorld:
    return ShopifyWorld.load(world_dir)


def _context(world: ShopifyWorld, store: Any) -> RequestContext:
    _, fields = served_schema()
    return RequestContext(world=world, store=store, record=lambda *_: None, order_search_fields=fields)


def _plain(world: ShopifyWorld, store: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """graphql-core's own execution, serialized the way the emulator serializes its bodies."""
    schema, _ = served_schema()
    result = graphql.execute(schema, graphql.parse(query), root_value={}, context_value=_context(world, store),
                             variable_values=variables)
    return orjson.loads(orjson.dumps({"data": result.data, "errors": [e.formatted for e in result.errors or ()]}))


def _served(world: ShopifyWorld, store: Any, query: str, variables: dict[str, Any],
            context_class: type[FastExecutionContext]) -> dict[str, Any]:
    body = orjson.loads(orjson.dumps(execute(_context(world, store), query, variables, None, context_class)))
    return {"data": body.get("data"), "errors": body.get("errors", [])}


def _store_with_returns(world: ShopifyWorld) -> Any:
    returns = world.leaks.returns
    order_ids = set(returns.cols["order_id"].tolist())
    return max(world.stores.values(), key=lambda s: len(order_ids & set(s.orders.ids.tolist())))


@pytest.mark.parametrize("context_class", [FastExecutionContext, FragmentCache().context_class()],
                         ids=["uncached", "cached"])
def test_projection_equals_graphql_core(world: ShopifyWorld, context_class: type[FastExecutionContext]) -> None:
    store = _store_with_returns(world)
    for query, variables in [*CASES, (leaks.RETURNS_QUERY, {"ids": _order_ids_with_returns(world, store)})]:
        expected = _plain(world, store, query, variables)
        for _ in range(2):  # the cached class answers the second time from its fragments
            assert _served(world, store, query, variables, context_class) == expected, query
    assert _plain(world, store, FAILING_RESOLVER, {})["errors"], "FAILING_RESOLVER must exercise the fallback"
    assert _plain(world, store, NULL_IN_NON_NULL, {})["errors"], "NULL_IN_NON_NULL must exercise the fallback"


def _order_ids_with_returns(world: ShopifyWorld, store: Any) -> list[str]:
    ids = sorted(set(world.leaks.returns.cols["order_id"].tolist()) & set(store.orders.ids.tolist()))
    assert ids, "the tiny world has returns in this store"
    return [f"gid://shopify/Order/{i}" for i in ids[:10]]


def test_the_pipeline_orders_page_is_projected(world: ShopifyWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the root selection runs graphql-core's way: every object below it is a projection."""
    general: list[str] = []
    original = FastExecutionContext._execute_fields

    def counting(self: Any, parent_type: Any, source: Any, path: Any, fields: Any) -> Any:
        general.append(parent_type.name)
        return original(self, parent_type, source, path, fields)

    monkeypatch.setattr(FastExecutionContext, "_execute_fields", counting)
    store = max(world.stores.values(), key=lambda s: len(s.orders))
    body = _served(world, store, load_query("orders"), {"first": 100}, FastExecutionContext)
    assert len(body["data"]["orders"]["nodes"]) == 100 and not body["errors"]
    assert general == ["QueryRoot", "OrderConnection"]  # the connection is entered, then projected
