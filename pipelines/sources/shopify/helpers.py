"""GraphQL paging and row flattening for the Shopify Admin API.

The page loop is written here (a few lines) because dlt's REST paginators put cursors in the URL or a flat
body field, while GraphQL wants them inside `variables`; retries come from dlt's retrying `requests` client.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pipelines.sources.shopify.settings import API_VERSION, QUERY_DIR


class ShopifyQueryError(RuntimeError):
    """The API answered with GraphQL errors (bad query, throttled beyond the retry budget…)."""


def load_query(name: str) -> str:
    return (QUERY_DIR / f"{name}.graphql").read_text()


def graphql_url(base_url: str, api_version: str = API_VERSION) -> str:
    return f"{base_url.rstrip('/')}/admin/api/{api_version}/graphql.json"


def post_graphql(url: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One GraphQL call; THROTTLED answers wait for the bucket and retry (`throttle.ShopifyClient`), HTTP
    429/5xx are retried by dlt's client, other GraphQL errors raise."""
    from pipelines.sources.shopify.throttle import ShopifyClient  # throttle imports this module

    return ShopifyClient(url, token).query(query, variables)


def iter_connection(url: str, token: str, query: str, root: str, variables: dict[str, Any],
                    page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Yield the `nodes` of each page of the root connection, following `pageInfo.endCursor`."""
    after = None
    while True:
        data = post_graphql(url, token, query, {**variables, "first": page_size, "after": after})
        connection = data[root]
        yield connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            return
        after = connection["pageInfo"]["endCursor"]


def search_since(cursor: str, lookback_seconds: int) -> str:
    """The `query:` filter for rows updated since `cursor` minus the look-back window."""
    since = datetime.fromisoformat(cursor.replace("Z", "+00:00")) - timedelta(seconds=lookback_seconds)
    return f"updated_at:>='{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def _money(bag: dict[str, Any] | None) -> tuple[Decimal | None, str | None]:
    if not bag:
        return None, None
    money = bag["shopMoney"]
    return Decimal(money["amount"]), money["currencyCode"]


def _require_complete(connection: dict[str, Any], what: str, owner_id: str) -> list[dict[str, Any]]:
    if connection["pageInfo"]["hasNextPage"]:
        raise ShopifyQueryError(f"{what} of {owner_id} has more than one page; raise its page size")
    return connection["nodes"]


def flatten_order(order: dict[str, Any], store_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Split one order node into (table, row) pairs: orders, line items, transactions, refunds, refund lines,
    returns and their lines, and the store credit of the page's customers (`leaks`, on the page's first order).

    Only the order row keeps the camelCase `updatedAt` (the incremental cursor); dlt snake-cases every column.
    """
    order_id = order["id"]
    shipping, shipping_ccy = _money(order["totalShippingPriceSet"])
    yield "orders", {
        "id": order_id,
        "store_id": store_id,
        "name": order["name"],
        "createdAt": order["createdAt"],
        "updatedAt": order["updatedAt"],
        "processedAt": order["processedAt"],
        "cancelledAt": order["cancelledAt"],
        "cancelReason": order["cancelReason"],
        "tags": ", ".join(order["tags"]),
        "note": order["note"],
        "email": order["email"],
        "currencyCode": order["currencyCode"],
        "test": order["test"],
        "customer_id": (order.get("customer") or {}).get("id"),
        "shipping_amount": shipping,
        "shipping_currency": shipping_ccy,
    }
    for line in _require_complete(order["lineItems"], "lineItems", order_id):
        price, ccy = _money(line["originalUnitPriceSet"])
        discount, _ = _money(line["totalDiscountSet"])
        yield "order_line_items", {
            "id": line["id"], "order_id": order_id, "store_id": store_id, "sku": line["sku"],
            "title": line["title"], "quantity": line["quantity"], "unit_price_amount": price,
            "total_discount_amount": discount, "currency": ccy,
        }
    refund_of_tx: dict[str, str] = {}
    for refund in order["refunds"]:
        total, ccy = _money(refund["totalRefundedSet"])
        for tx in _require_complete(refund["transactions"], "refund transactions", refund["id"]):
            refund_of_tx[tx["id"]] = refund["id"]
        staff = refund.get("staffMember") or {}
        yield "refunds", {
            "id": refund["id"], "order_id": order_id, "store_id": store_id, "created_at": refund["createdAt"],
            "updated_at": refund["updatedAt"], "note": refund["note"], "total_refunded_amount": total,
            "currency": ccy, "staff_member_id": staff.get("id"), "staff_member_name": staff.get("name"),
        }
        for rli in _require_complete(refund["refundLineItems"], "refundLineItems", refund["id"]):
            subtotal, rccy = _money(rli["subtotalSet"])
            yield "refund_line_items", {
                "id": rli["id"], "refund_id": refund["id"], "order_id": order_id, "store_id": store_id,
                "line_item_id": rli["lineItem"]["id"], "quantity": rli["quantity"],
                "restock_type": rli["restockType"], "subtotal_amount": subtotal, "currency": rccy,
            }
    for tx in order["transactions"]:
        amount, ccy = _money(tx["amountSet"])
        yield "order_transactions", {
            "id": tx["id"], "order_id": order_id, "store_id": store_id, "refund_id": refund_of_tx.get(tx["id"]),
            "kind": tx["kind"], "status": tx["status"], "gateway": tx["gateway"], "created_at": tx["createdAt"],
            "processed_at": tx["processedAt"], "payment_id": tx["paymentId"], "error_code": tx["errorCode"],
            "parent_transaction_id": (tx.get("parentTransaction") or {}).get("id"), "amount": amount,
            "currency": ccy,
        }
    from pipelines.sources.shopify.leaks import flatten_returns, flatten_store_credit  # leaks imports this module

    yield from flatten_returns(order, store_id)
    for customer in order.get("__credit_customers") or []:
        for row in flatten_store_credit(customer, store_id):
            yield "store_credit_transactions", {**row, "amount": Decimal(row["amount"])}
