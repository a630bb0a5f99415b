"""Fetching complete order nodes from Shopify, two ways that yield the same nodes.

- `bulk_orders`: the first load of a shop. One bulk operation (`bulkOperationRunQuery`) exports every order with
  its line items (a nested connection: JSONL lines with `__parentId`), transactions and refund ids (lists,
  inline); the source polls `node(id:)` until COMPLETED, downloads the JSONL and puts children back under their
  parent order.
- `paged_orders`: later loads. Orders updated since the cursor, a page at a time, with a query whose requested
  cost stays under Shopify's single-query limit of 1,000 (small nested `first`); an order with more line items
  than a page holds pages its `lineItems` on, more transactions than asked are fetched again with a larger
  `first`.
Returns and store credit are not in either query either: `returnStatus` (free) tells which orders have returns,
and `leaks.fill_returns` reads those with `nodes(ids:)`; `leaks.fill_store_credit` reads the store-credit accounts
and timeline comments of the page's customers (see `leaks`).
Refunds are not in either query (a connection inside the `refunds` list is refused by bulk operations, and
it would make the page too costly): both paths fill them with `nodes(ids:)` calls batched to stay under the
limit. Every node then has the shape `helpers.flatten_order` reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from itertools import groupby
from typing import Any

import orjson
from dlt.sources.helpers import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from pipelines.sources.shopify.helpers import ShopifyQueryError, search_since
from pipelines.sources.shopify.leaks import fill_leaks
from pipelines.sources.shopify.throttle import ShopifyClient

MAX_QUERY_COST = 1000
PAGE_ORDERS = 8  # requested cost of ORDERS_PAGE with 8 orders: 850
PAGE_LINE_ITEMS = 10
PAGE_TRANSACTIONS = 10
MORE_TRANSACTIONS = 200  # requested cost 801
MORE_LINE_ITEMS = 100  # requested cost 503
REFUND_COST = 58  # one refund of REFUNDS_QUERY: itself, its total, staff member, 10 refund lines, 10 transaction ids
POLL_SECONDS = 0.2
POLL_MAX_SECONDS = 5.0
BULK_TIMEOUT_SECONDS = 3600.0
DOWNLOAD_ATTEMPTS = 5

MONEY = "shopMoney { amount currencyCode }"
ORDER_FIELDS = f"""id name createdAt updatedAt processedAt cancelledAt cancelReason tags note email currencyCode test
      returnStatus customer {{ id }}
      totalShippingPriceSet {{ {MONEY} }}"""
LINE_ITEM_FIELDS = f"id sku title quantity originalUnitPriceSet {{ {MONEY} }} totalDiscountSet {{ {MONEY} }}"
TRANSACTION_FIELDS = (f"id kind status gateway createdAt processedAt paymentId errorCode parentTransaction {{ id }} "
                      f"amountSet {{ {MONEY} }}")

ORDERS_PAGE = f"""query OrdersPage($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {ORDER_FIELDS}
      lineItems(first: {PAGE_LINE_ITEMS}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_ITEM_FIELDS} }} }}
      transactions(first: {PAGE_TRANSACTIONS}) {{ {TRANSACTION_FIELDS} }}
      refunds(first: 10) {{ id }}
    }}
  }}
}}"""

MORE_LINE_ITEMS_QUERY = f"""query OrderLineItems($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: {MORE_LINE_ITEMS}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_ITEM_FIELDS} }}
    }}
  }}
}}"""

MORE_TRANSACTIONS_QUERY = f"""query OrderTransactions($id: ID!) {{
  order(id: $id) {{ transactions(first: {MORE_TRANSACTIONS}) {{ {TRANSACTION_FIELDS} }} }}
}}"""

REFUNDS_QUERY = f"""query OrderRefunds($ids: [ID!]!, $refunds: Int!) {{
  nodes(ids: $ids) {{
    ... on Order {{
      id
      refunds(first: $refunds) {{
        id createdAt updatedAt note
        staffMember {{ id name }}
        totalRefundedSet {{ {MONEY} }}
        refundLineItems(first: 10) {{
          pageInfo {{ hasNextPage endCursor }}
          nodes {{ id quantity restockType lineItem {{ id }} subtotalSet {{ {MONEY} }} }}
        }}
        transactions(first: 10) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id }} }}
      }}
    }}
  }}
}}"""

BULK_QUERY = f"""{{
  orders(sortKey: UPDATED_AT) {{
    edges {{ node {{
      {ORDER_FIELDS}
      lineItems {{ edges {{ node {{ {LINE_ITEM_FIELDS} }} }} }}
      transactions {{ {TRANSACTION_FIELDS} }}
      refunds {{ id }}
    }} }}
  }}
}}"""

RUN_BULK = """mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message code } }
}"""

POLL_BULK = """query PollBulk($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount rootObjectCount fileSize url } }
}"""

DONE = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})


# ---------------------------------------------------------------- refunds, for both paths


def _refund_batches(orders: list[dict[str, Any]]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(refunds per order, orders) batches whose REFUNDS_QUERY costs at most MAX_QUERY_COST."""
    with_refunds = sorted((o for o in orders if o["refunds"]), key=lambda o: len(o["refunds"]))
    for count, group in groupby(with_refunds, key=lambda o: len(o["refunds"])):
        members = list(group)
        size = MAX_QUERY_COST // (1 + count * REFUND_COST)
        if size < 1:
            raise ShopifyQueryError(f"order {members[0]['id']} has {count} refunds: too many for one query")
        for i in range(0, len(members), size):
            yield count, members[i:i + size]


def fill_refunds(client: ShopifyClient, orders: list[dict[str, Any]]) -> None:
    """Replace each order's refund ids by the full refunds (line items, transaction ids)."""
    for count, batch in _refund_batches(orders):
        data = client.query(REFUNDS_QUERY, {"ids": [o["id"] for o in batch], "refunds": count})
        by_id = {node["id"]: node for node in data["nodes"] if node}
        for order in batch:
            found = by_id.get(order["id"])
            if found is None:
                raise ShopifyQueryError(f"order {order['id']} vanished while its refunds were read")
            order["refunds"] = found["refunds"]


# ---------------------------------------------------------------- paginated


def _complete_page_order(client: ShopifyClient, order: dict[str, Any]) -> None:
    """Page on line items and re-read transactions when the page query did not hold all of them."""
    lines = order["lineItems"]
    nodes = list(lines["nodes"])
    after = lines["pageInfo"]["endCursor"]
    more = lines["pageInfo"]["hasNextPage"]
    while more:
        conn = client.query(MORE_LINE_ITEMS_QUERY, {"id": order["id"], "after": after})["order"]["lineItems"]
        nodes.extend(conn["nodes"])
        more, after = conn["pageInfo"]["hasNextPage"], conn["pageInfo"]["endCursor"]
    order["lineItems"] = {"pageInfo": {"hasNextPage": False}, "nodes": nodes}
    if len(order["transactions"]) >= PAGE_TRANSACTIONS:
        order["transactions"] = client.query(MORE_TRANSACTIONS_QUERY, {"id": order["id"]})["order"]["transactions"]
        if len(order["transactions"]) >= MORE_TRANSACTIONS:
            raise ShopifyQueryError(f"order {order['id']} has {MORE_TRANSACTIONS}+ transactions: not all read")


def paged_orders(client: ShopifyClient, cursor: str, lookback_seconds: int,
                 page_size: int = PAGE_ORDERS) -> Iterator[list[dict[str, Any]]]:
    """Pages of complete order nodes updated since `cursor` minus the look-back."""
    variables: dict[str, Any] = {"query": search_since(cursor, lookback_seconds), "first": page_size, "after": None}
    seen_customers: set[str] = set()
    while True:
        conn = client.query(ORDERS_PAGE, variables)["orders"]
        orders = conn["nodes"]
        for order in orders:
            _complete_page_order(client, order)
        fill_refunds(client, orders)
        fill_leaks(client, orders, seen_customers)
        yield orders
        if not conn["pageInfo"]["hasNextPage"]:
            return
        variables["after"] = conn["pageInfo"]["endCursor"]


# ---------------------------------------------------------------- bulk


def run_bulk_query(client: ShopifyClient, query: str, sleep: Callable[[float], None] = time.sleep,
                   poll_seconds: float = POLL_SECONDS, timeout: float = BULK_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Start a bulk query and poll it to its end; the final BulkOperation (raises unless COMPLETED)."""
    payload = client.query(RUN_BULK, {"query": query})["bulkOperationRunQuery"]
    if payload["userErrors"]:
        messages = "; ".join(f"{e.get('code')}: {e['message']}" for e in payload["userErrors"])
        raise ShopifyQueryError(f"bulk query refused by {client.url}: {messages}")
    op_id = payload["bulkOperation"]["id"]
    waited, interval = 0.0, poll_seconds
    while True:
        op = client.query(POLL_BULK, {"id": op_id})["node"]
        if op is None:
            raise ShopifyQueryError(f"bulk operation {op_id} not found at {client.url}")
        if op["status"] in DONE:
            break
        if waited > timeout:
            raise ShopifyQueryError(f"bulk operation {op_id} still {op['status']} after {timeout:.0f} s")
        sleep(interval)
        waited += interval
        interval = min(POLL_MAX_SECONDS, interval * 1.5)
    if op["status"] != "COMPLETED":
        raise ShopifyQueryError(f"bulk operation {op_id} ended {op['status']} (errorCode {op['errorCode']})")
    return op


def read_jsonl(url: str | None) -> Iterator[dict[str, Any]]:
    """The objects of a bulk result file (none when Shopify found nothing: url null)."""
    if url is None:
        return
    response = requests.get(url, stream=True, timeout=300)
    response.raise_for_status()
    for line in response.iter_lines():
        if line:
            yield orjson.loads(line)


@retry(retry=retry_if_exception_type((requests.ChunkedEncodingError, requests.ConnectionError)),
       stop=stop_after_attempt(DOWNLOAD_ATTEMPTS), wait=wait_exponential(multiplier=0.5, max=30), reraise=True)
def download_orders(url: str | None) -> list[dict[str, Any]]:
    """The orders of a bulk result file, read again from its start when the connection breaks mid-body (the file
    is streamed, so a cut body surfaces while reading, past the retries of dlt's client, which cover the request)."""
    return assemble(read_jsonl(url))


def assemble(lines: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders with their line items put back from `__parentId` lines, shaped like the paginated nodes."""
    orders: dict[str, dict[str, Any]] = {}
    children: list[dict[str, Any]] = []
    for obj in lines:
        if "__parentId" in obj:
            children.append(obj)
        else:
            obj["lineItems"] = {"pageInfo": {"hasNextPage": False}, "nodes": []}
            orders[obj["id"]] = obj
    for child in children:
        parent = orders.get(child.pop("__parentId"))
        if parent is None:
            raise ShopifyQueryError(f"bulk result line {child.get('id')} names a parent that is not in the file")
        if child["id"].startswith("gid://shopify/LineItem/"):
            parent["lineItems"]["nodes"].append(child)
    return list(orders.values())


def bulk_orders(client: ShopifyClient, sleep: Callable[[float], None] = time.sleep,
                poll_seconds: float = POLL_SECONDS, batch: int = 500) -> Iterator[list[dict[str, Any]]]:
    """Every order of the shop, complete, from one bulk operation (in batches of `batch` orders)."""
    op = run_bulk_query(client, BULK_QUERY, sleep=sleep, poll_seconds=poll_seconds)
    orders = download_orders(op["url"])
    seen_customers: set[str] = set()
    for i in range(0, len(orders), batch):
        chunk = orders[i:i + batch]
        fill_refunds(client, chunk)
        fill_leaks(client, chunk, seen_customers)
        yield chunk
