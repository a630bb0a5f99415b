"""Shopify Admin GraphQL source: orders with line items, transactions and refunds, for every shop configured;
fulfillments, product variants and locations (see `pipelines.sources.shopify.objects`).

Config (`.dlt/config.toml`)::

    [sources.shopify]
    api_version = "2026-07"
    shops = [{store_id = "lumen-au", base_url = "https://lumen-au.myshopify.com"}]

Secrets (`.dlt/secrets.toml` or `SOURCES__SHOPIFY__ACCESS_TOKENS='{"lumen-au": "shpat_…"}'`)::

    [sources.shopify.access_tokens]
    lumen-au = "shpat_…"
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common.typing import TDataItem

from pipelines.sources.shopify.helpers import (
    flatten_order,
    graphql_url,
    iter_connection,
    load_query,
    search_since,
)
from pipelines.sources.shopify.objects import (
    OBJECT_TABLE_COLUMNS,
    fulfillments,
    locations,
    product_variants,
)
from pipelines.sources.shopify.settings import (
    API_VERSION,
    DEFAULT_START,
    LOOKBACK_SECONDS,
    ORDERS_PAGE_SIZE,
    TABLE_COLUMNS,
)

TABLES = (*TABLE_COLUMNS, *OBJECT_TABLE_COLUMNS)


@dlt.source(name="shopify", max_table_nesting=0)
def shopify_source(
    shops: list[dict[str, str]] = dlt.config.value,
    access_tokens: dict[str, str] = dlt.secrets.value,
    api_version: str = API_VERSION,
    lookback_seconds: int = LOOKBACK_SECONDS,
    page_size: int = ORDERS_PAGE_SIZE,
) -> Any:
    """All configured shops; every row carries `store_id`."""
    missing = [s["store_id"] for s in shops if s["store_id"] not in access_tokens]
    if missing:
        raise ValueError(f"no Shopify access token for store(s) {', '.join(missing)}: "
                         "set sources.shopify.access_tokens in .dlt/secrets.toml")
    return (
        orders(shops, access_tokens, api_version, lookback_seconds, page_size),
        fulfillments(shops, access_tokens, api_version, lookback_seconds),
        product_variants(shops, access_tokens, api_version, lookback_seconds),
        locations(shops, access_tokens, api_version),
    )


@dlt.resource(primary_key="id", write_disposition="merge")
def orders(shops: list[dict[str, str]], access_tokens: dict[str, str], api_version: str,
           lookback_seconds: int, page_size: int) -> Iterator[TDataItem]:
    """Orders updated since each shop's cursor (minus the look-back), split into their five tables.

    One cursor per shop lives in the resource state (`dlt.sources.incremental` keeps a single cursor per
    resource, and one resource per shop would scatter each raw table over many resources). Rows fetched
    twice through the look-back are merged on `id`, so they never duplicate.
    """
    state = dlt.current.resource_state().setdefault("cursor_by_store", {})
    query = load_query("orders")
    for shop in shops:
        store_id = shop["store_id"]
        cursor = state.get(store_id, DEFAULT_START)
        newest = cursor
        url = graphql_url(shop["base_url"], api_version)
        for nodes in iter_connection(url, access_tokens[store_id], query, "orders",
                                     {"query": search_since(cursor, lookback_seconds)}, page_size):
            by_table: dict[str, list[TDataItem]] = {table: [] for table in TABLE_COLUMNS}
            for node in nodes:
                newest = max(newest, node["updatedAt"])
                for table, row in flatten_order(node, store_id):
                    by_table[table].append(row)
            for table, rows in by_table.items():
                if rows:
                    yield dlt.mark.with_hints(
                        rows,
                        dlt.mark.make_hints(table_name=table, columns=TABLE_COLUMNS[table], primary_key="id",
                                            write_disposition="merge"),
                        create_table_variant=True,  # else every table gets the columns of all five
                    )
        state[store_id] = newest
