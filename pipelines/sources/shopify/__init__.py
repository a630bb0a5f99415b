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

from pipelines.sources import declared_tables
from pipelines.sources.shopify.bulk import bulk_orders, paged_orders
from pipelines.sources.shopify.helpers import flatten_order, graphql_url
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
from pipelines.sources.shopify.throttle import ShopifyClient

TABLES = (*TABLE_COLUMNS, *OBJECT_TABLE_COLUMNS)


@dlt.source(name="shopify", max_table_nesting=0)
def shopify_source(
    shops: list[dict[str, str]] = dlt.config.value,
    access_tokens: dict[str, str] = dlt.secrets.value,
    api_version: str = API_VERSION,
    lookback_seconds: int = LOOKBACK_SECONDS,
    page_size: int = ORDERS_PAGE_SIZE,
    backfill: str = "bulk",
) -> Any:
    """All configured shops; every row carries `store_id`.

    A shop without a cursor yet is backfilled with a bulk operation (`backfill="bulk"`, see `bulk.py`) or page
    by page from DEFAULT_START (`backfill="paginated"`); later runs page through what changed since the cursor.
    """
    if backfill not in {"bulk", "paginated"}:
        raise ValueError(f"sources.shopify.backfill must be 'bulk' or 'paginated', not {backfill!r}")
    missing = [s["store_id"] for s in shops if s["store_id"] not in access_tokens]
    if missing:
        raise ValueError(f"no Shopify access token for store(s) {', '.join(missing)}: "
                         "set sources.shopify.access_tokens in .dlt/secrets.toml")
    return (
        orders(shops, access_tokens, api_version, lookback_seconds, page_size, backfill),
        fulfillments(shops, access_tokens, api_version, lookback_seconds),
        product_variants(shops, access_tokens, api_version, lookback_seconds),
        locations(shops, access_tokens, api_version),
    )


@dlt.resource(primary_key="id", write_disposition="merge")
def orders(shops: list[dict[str, str]], access_tokens: dict[str, str], api_version: str,
           lookback_seconds: int, page_size: int, backfill: str = "bulk") -> Iterator[TDataItem]:
    """Orders updated since each shop's cursor (minus the look-back), split into their five tables.

    One cursor per shop lives in the resource state (`dlt.sources.incremental` keeps a single cursor per
    resource, and one resource per shop would scatter each raw table over many resources). Rows fetched
    twice through the look-back are merged on `id`, so they never duplicate.
    """
    yield from declared_tables(TABLE_COLUMNS)  # every table exists, with or without rows (no return yet…)
    state = dlt.current.resource_state().setdefault("cursor_by_store", {})
    for shop in shops:
        store_id = shop["store_id"]
        cursor = state.get(store_id, DEFAULT_START)
        newest = cursor
        client = ShopifyClient(graphql_url(shop["base_url"], api_version), access_tokens[store_id])
        pages = (bulk_orders(client) if store_id not in state and backfill == "bulk"
                 else paged_orders(client, cursor, lookback_seconds, page_size))
        for nodes in pages:
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
