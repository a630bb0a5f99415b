"""Shopify objects beside the order core: fulfillments (+ their line items), product variants, locations.

Each is its own dlt resource of the `shopify` source, per shop, merged on its key like the order tables:

- `fulfillments` fills raw tables `fulfillments` and `fulfillment_line_items` from the orders updated since
  the shop's cursor minus the look-back (creating a fulfillment bumps the order's `updatedAt` in Shopify, so
  new fulfillments arrive with their order). Its own cursor per shop, in this resource's state.
- `product_variants` fills `product_variants` (one row per variant, with its product) from the variants updated
  since the shop's cursor minus the look-back.
- `locations` fills `locations`, re-read whole every run (a shop has a handful), merged on (store_id, id):
  the same location (e.g. a drop-shipping supplier) can belong to several shops.

Query cost: Shopify computes a query's requested cost before running it (object 1, scalar or enum 0,
connection or sized list 2 + `first` × the cost of one node, multiplied down the nesting) and refuses a single
query above 1,000 points. The page sizes here keep every query under that (worked out in each .graphql file):
order fulfillments 932 (10 orders × 5 fulfillments × 5 lines), product variants 202, locations 102.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import dlt
from dlt.common.typing import TDataItem

from pipelines.sources import declared_tables
from pipelines.sources.shopify.helpers import (
    ShopifyQueryError,
    graphql_url,
    load_query,
    post_graphql,
    search_since,
)
from pipelines.sources.shopify.settings import DEFAULT_START

try:  # the cost-aware client (waits for the shop's query-cost bucket, retries THROTTLED) where it exists
    from pipelines.sources.shopify.throttle import ShopifyClient as _CostAwareClient
except ImportError:  # pragma: no cover - before the rate-limit work lands
    _CostAwareClient = None

FULFILLMENT_ORDERS_PAGE_SIZE = 10
FULFILLMENTS_PER_ORDER = 5  # `fulfillments(first: 5)` in order_fulfillments.graphql
VARIANTS_PAGE_SIZE = 100
LOCATIONS_PAGE_SIZE = 50
YIELD_BATCH_ROWS = 5_000

_TEXT = {"data_type": "text"}
_TIME = {"data_type": "timestamp"}


def _key() -> dict:
    return {"data_type": "text", "nullable": False}


OBJECT_TABLE_COLUMNS: dict[str, dict[str, dict]] = {
    "fulfillments": {
        "id": _key(), "order_id": dict(_TEXT), "store_id": _key(), "name": dict(_TEXT),
        "status": dict(_TEXT), "location_id": dict(_TEXT), "tracking_number": dict(_TEXT),
        "tracking_company": dict(_TEXT), "tracking_url": dict(_TEXT), "tracking_numbers": dict(_TEXT),
        "total_quantity": {"data_type": "bigint"}, "created_at": dict(_TIME), "updated_at": dict(_TIME),
    },
    "fulfillment_line_items": {
        "id": _key(), "fulfillment_id": dict(_TEXT), "order_id": dict(_TEXT), "store_id": _key(),
        "line_item_id": dict(_TEXT), "quantity": {"data_type": "bigint"},
    },
    "product_variants": {
        "id": _key(), "store_id": _key(), "product_id": dict(_TEXT), "sku": dict(_TEXT), "title": dict(_TEXT),
        "display_name": dict(_TEXT), "price": {"data_type": "decimal", "precision": 18, "scale": 2},
        "product_title": dict(_TEXT), "product_handle": dict(_TEXT), "vendor": dict(_TEXT),
        "product_status": dict(_TEXT), "created_at": dict(_TIME), "updated_at": dict(_TIME),
    },
    "locations": {
        "id": _key(), "store_id": _key(), "name": dict(_TEXT), "is_active": {"data_type": "bool"},
        "fulfills_online_orders": {"data_type": "bool"}, "is_fulfillment_service": {"data_type": "bool"},
        "country_code": dict(_TEXT), "country": dict(_TEXT), "created_at": dict(_TIME),
        "updated_at": dict(_TIME),
    },
}
PRIMARY_KEYS: dict[str, str | tuple[str, ...]] = {
    "fulfillments": "id", "fulfillment_line_items": "id", "product_variants": "id",
    "locations": ("store_id", "id"),
}


class _PlainClient:
    """Plain GraphQL calls (dlt's retrying `requests`), with the `query` method of the cost-aware client."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return post_graphql(self.url, self.token, query, variables or {})


def _pages(shop: dict[str, str], token: str, api_version: str, query: str, root: str,
           variables: dict[str, Any], page_size: int) -> Iterator[list[dict[str, Any]]]:
    """The `nodes` of each page of the root connection `root`, following `pageInfo.endCursor`."""
    url = graphql_url(shop["base_url"], api_version)
    client = (_CostAwareClient or _PlainClient)(url, token)
    after = None
    while True:
        connection = client.query(query, {**variables, "first": page_size, "after": after})[root]
        yield connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            return
        after = connection["pageInfo"]["endCursor"]


def _with_hints(table: str, rows: list[TDataItem]) -> Any:
    return dlt.mark.with_hints(rows, dlt.mark.make_hints(
        table_name=table, columns=OBJECT_TABLE_COLUMNS[table], primary_key=PRIMARY_KEYS[table],
        write_disposition="merge"), create_table_variant=True)


def _declared(*tables: str) -> Iterator[Any]:
    """The tables a resource fills, created even when no row reaches them."""
    return declared_tables({table: OBJECT_TABLE_COLUMNS[table] for table in tables}, PRIMARY_KEYS)


def _flush(by_table: dict[str, list[TDataItem]]) -> Iterator[TDataItem]:
    for table, rows in by_table.items():
        if rows:
            yield _with_hints(table, rows)
        by_table[table] = []


def flatten_fulfillments(order: dict[str, Any], store_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) pairs of one order node of order_fulfillments.graphql."""
    order_id = order["id"]
    if len(order["fulfillments"]) >= FULFILLMENTS_PER_ORDER:
        raise ShopifyQueryError(f"order {order_id} has {FULFILLMENTS_PER_ORDER} or more fulfillments; "
                                "raise `fulfillments(first:)` in order_fulfillments.graphql (mind the cost)")
    for fulfillment in order["fulfillments"]:
        tracking = fulfillment["trackingInfo"] or []
        first = tracking[0] if tracking else {}
        yield "fulfillments", {
            "id": fulfillment["id"], "order_id": order_id, "store_id": store_id, "name": fulfillment["name"],
            "status": fulfillment["status"], "location_id": (fulfillment.get("location") or {}).get("id"),
            "tracking_number": first.get("number"), "tracking_company": first.get("company"),
            "tracking_url": first.get("url"),
            "tracking_numbers": ", ".join(t["number"] for t in tracking if t.get("number")) or None,
            "total_quantity": fulfillment["totalQuantity"],
            "created_at": fulfillment["createdAt"], "updated_at": fulfillment["updatedAt"],
        }
        lines = fulfillment["fulfillmentLineItems"]
        if lines["pageInfo"]["hasNextPage"]:
            raise ShopifyQueryError(f"fulfillmentLineItems of {fulfillment['id']} have more than one page; "
                                    "raise their page size in order_fulfillments.graphql (mind the cost)")
        for line in lines["nodes"]:
            yield "fulfillment_line_items", {
                "id": line["id"], "fulfillment_id": fulfillment["id"], "order_id": order_id,
                "store_id": store_id, "line_item_id": line["lineItem"]["id"], "quantity": line["quantity"],
            }


def flatten_variant(variant: dict[str, Any], store_id: str) -> dict[str, Any]:
    product = variant.get("product") or {}
    return {
        "id": variant["id"], "store_id": store_id, "product_id": product.get("id"), "sku": variant["sku"],
        "title": variant["title"], "display_name": variant["displayName"],
        "price": None if variant["price"] is None else Decimal(variant["price"]),
        "product_title": product.get("title"), "product_handle": product.get("handle"),
        "vendor": product.get("vendor"), "product_status": product.get("status"),
        "created_at": variant["createdAt"], "updated_at": variant["updatedAt"],
    }


def flatten_location(location: dict[str, Any], store_id: str) -> dict[str, Any]:
    address = location.get("address") or {}
    return {
        "id": location["id"], "store_id": store_id, "name": location["name"], "is_active": location["isActive"],
        "fulfills_online_orders": location["fulfillsOnlineOrders"],
        "is_fulfillment_service": location["isFulfillmentService"], "country_code": address.get("countryCode"),
        "country": address.get("country"), "created_at": location["createdAt"],
        "updated_at": location["updatedAt"],
    }


@dlt.resource(name="fulfillments", write_disposition="merge")
def fulfillments(shops: list[dict[str, str]], access_tokens: dict[str, str], api_version: str,
                 lookback_seconds: int, page_size: int = FULFILLMENT_ORDERS_PAGE_SIZE) -> Iterator[TDataItem]:
    """Fulfillments and their line items of the orders updated since each shop's cursor minus the look-back."""
    yield from _declared("fulfillments", "fulfillment_line_items")
    state = dlt.current.resource_state().setdefault("cursor_by_store", {})
    query = load_query("order_fulfillments")
    for shop in shops:
        store_id = shop["store_id"]
        cursor = newest = state.get(store_id, DEFAULT_START)
        # rows are yielded in batches, not per page: dlt computes a table schema per yielded item
        by_table: dict[str, list[TDataItem]] = {"fulfillments": [], "fulfillment_line_items": []}
        for nodes in _pages(shop, access_tokens[store_id], api_version, query, "orders",
                            {"query": search_since(cursor, lookback_seconds)}, page_size):
            for node in nodes:
                newest = max(newest, node["updatedAt"])
                for table, row in flatten_fulfillments(node, store_id):
                    by_table[table].append(row)
            if len(by_table["fulfillment_line_items"]) >= YIELD_BATCH_ROWS:
                yield from _flush(by_table)
        yield from _flush(by_table)
        state[store_id] = newest


@dlt.resource(name="product_variants", write_disposition="merge")
def product_variants(shops: list[dict[str, str]], access_tokens: dict[str, str], api_version: str,
                     lookback_seconds: int, page_size: int = VARIANTS_PAGE_SIZE) -> Iterator[TDataItem]:
    """Variants (with their product's title, handle, vendor, status) updated since each shop's cursor."""
    yield from _declared("product_variants")
    state = dlt.current.resource_state().setdefault("cursor_by_store", {})
    query = load_query("product_variants")
    for shop in shops:
        store_id = shop["store_id"]
        cursor = newest = state.get(store_id, DEFAULT_START)
        for nodes in _pages(shop, access_tokens[store_id], api_version, query, "productVariants",
                            {"query": search_since(cursor, lookback_seconds)}, page_size):
            rows = [flatten_variant(node, store_id) for node in nodes]
            newest = max([newest, *(node["updatedAt"] for node in nodes)])
            if rows:
                yield _with_hints("product_variants", rows)
        state[store_id] = newest


@dlt.resource(name="locations", write_disposition="merge")
def locations(shops: list[dict[str, str]], access_tokens: dict[str, str], api_version: str,
              page_size: int = LOCATIONS_PAGE_SIZE) -> Iterator[TDataItem]:
    """Every location of each shop (re-read whole: a shop has a handful)."""
    yield from _declared("locations")
    query = load_query("locations")
    for shop in shops:
        store_id = shop["store_id"]
        for nodes in _pages(shop, access_tokens[store_id], api_version, query, "locations", {}, page_size):
            if nodes:
                yield _with_hints("locations", [flatten_location(node, store_id) for node in nodes])
