"""Returns and store credit of the orders the source reads (both the bulk and the paginated path).

- **Returns**: the order query asks for `returnStatus` (an enum: free); orders with a return (anything but
  NO_RETURN) get their returns with `nodes(ids:)` (RETURNS_QUERY), batched to stay under the single-query cost
  limit. A return's received time is the first `ReverseFulfillmentOrderDisposition.createdAt` of its reverse
  fulfillment order (Shopify records the disposition when the item is received / inspected).
  Shopify bumps an order's `updatedAt` when its return changes, so a late return on an old order comes with the
  `updated_at` window of the next incremental run.
- **Store credit**: Shopify has no store-credit list per order; credit lives on the customer
  (`Customer.storeCreditAccounts → transactions`). The customers of the page's orders are read with
  `nodes(ids:)` (CREDIT_QUERY): each credit transaction with its origin (the OrderTransaction that issued it:
  its `order` is the compensated order, its `user` the issuing staff member). The real API has no note on a
  store-credit transaction; staff write it as a comment on the customer's timeline (`Customer.events`,
  CommentEvent): the comment created at the credit's `createdAt` is its note. Issuing credit from an order
  bumps that order's `updatedAt`, so new credit arrives with the incremental window too.

Requested costs (Shopify: object 1, scalar/enum 0, connection or sized list 2 + first × node): RETURNS_QUERY 90
per order (3 returns × 3 lines × 1 reverse fulfillment order × 3 lines), CREDIT_QUERY 78 per customer (1 account
× 10 transactions, 10 comments); batches keep every query ≤ MAX_QUERY_COST.
"""

from __future__ import annotations

from typing import Any

from pipelines.sources.shopify.helpers import ShopifyQueryError

MAX_QUERY_COST = 1000
RETURNS_PER_ORDER = 3
RETURN_ORDER_COST = 90
RFO_COST = 12  # requested cost of DISPOSITIONS_QUERY per reverse fulfillment order: itself 1, lineItems 2 + 3 × 3
CREDIT_CUSTOMER_COST = 78
TRANSACTIONS_PER_ACCOUNT = 10
COMMENTS_PER_CUSTOMER = 10

MONEY = "amount currencyCode"
RETURN_FIELDS = "id name status createdAt requestApprovedAt closedAt totalQuantity"
RETURN_LINE_FIELDS = """id quantity customerNote
              ... on ReturnLineItem {
                returnReason returnReasonDefinition { handle } fulfillmentLineItem { id lineItem { id } }
              }"""
RFO_LINE_FIELDS = "id fulfillmentLineItem { id } dispositions { createdAt type }"
RFO_LINES = 3  # `lineItems(first:)` of a reverse fulfillment order
RETURNS_QUERY = f"""query OrderReturns($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    ... on Order {{
      id
      returns(first: {RETURNS_PER_ORDER}) {{
        pageInfo {{ hasNextPage }}
        nodes {{
          {RETURN_FIELDS}
          returnLineItems(first: 3) {{
            pageInfo {{ hasNextPage }}
            nodes {{
              {RETURN_LINE_FIELDS}
            }}
          }}
          reverseFulfillmentOrders(first: 1) {{
            nodes {{
              id status
              lineItems(first: {RFO_LINES}) {{ nodes {{ {RFO_LINE_FIELDS} }} }}
            }}
          }}
        }}
      }}
    }}
  }}
}}"""

# A return inside the bulk query (`bulk.BULK_QUERY`, under `orders → returns`): its line items and reverse
# fulfillment orders are the query's 4th and 5th connections, 2 deep; the reverse fulfillment orders' lines
# (with the received dispositions) would be a 3rd level, which bulk queries refuse: DISPOSITIONS_QUERY reads them.
BULK_RETURN_FIELDS = f"""{RETURN_FIELDS}
          returnLineItems {{ edges {{ node {{ {RETURN_LINE_FIELDS} }} }} }}
          reverseFulfillmentOrders {{ edges {{ node {{ id status }} }} }}"""

DISPOSITIONS_QUERY = f"""query ReverseFulfillmentOrderLines($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    ... on ReverseFulfillmentOrder {{
      id
      lineItems(first: {RFO_LINES}) {{ pageInfo {{ hasNextPage }} nodes {{ {RFO_LINE_FIELDS} }} }}
    }}
  }}
}}"""

CREDIT_QUERY = f"""query CustomerStoreCredit($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    ... on Customer {{
      id
      storeCreditAccounts(first: 1) {{
        pageInfo {{ hasNextPage }}
        nodes {{
          id
          transactions(first: {TRANSACTIONS_PER_ACCOUNT}) {{
            pageInfo {{ hasNextPage }}
            nodes {{
              ... on StoreCreditAccountCreditTransaction {{
                id createdAt expiresAt amount {{ {MONEY} }}
                origin {{ ... on OrderTransaction {{ id order {{ id }} user {{ id name }} }} }}
              }}
            }}
          }}
        }}
      }}
      events(first: {COMMENTS_PER_CUSTOMER}, query: "verb:comment") {{
        pageInfo {{ hasNextPage }}
        nodes {{ id createdAt message ... on CommentEvent {{ author {{ id }} }} }}
      }}
    }}
  }}
}}"""


def _batches(items: list[Any], cost: int) -> list[list[Any]]:
    size = MAX_QUERY_COST // cost
    return [items[i:i + size] for i in range(0, len(items), size)]


def fill_returns(client: Any, orders: list[dict[str, Any]]) -> None:
    """Set each order's `returns` (a list of return nodes; empty when `returnStatus` is NO_RETURN)."""
    wanted = []
    for order in orders:
        order["returns"] = []
        if order.get("returnStatus") not in (None, "NO_RETURN"):
            wanted.append(order)
    for batch in _batches(wanted, RETURN_ORDER_COST):
        data = client.query(RETURNS_QUERY, {"ids": [o["id"] for o in batch]})
        by_id = {node["id"]: node for node in data["nodes"] if node}
        for order in batch:
            found = by_id.get(order["id"])
            if found is None:
                raise ShopifyQueryError(f"order {order['id']} vanished while its returns were read")
            if found["returns"]["pageInfo"]["hasNextPage"]:
                raise ShopifyQueryError(f"order {order['id']} has more than {RETURNS_PER_ORDER} returns; "
                                        "raise RETURNS_PER_ORDER in leaks.py (mind the cost)")
            order["returns"] = found["returns"]["nodes"]


def fill_dispositions(client: Any, orders: list[dict[str, Any]]) -> None:
    """Set `lineItems` (with their dispositions) on every reverse fulfillment order of the orders' returns (as
    `bulk.assemble` leaves them: id and status only), read by id in batches under the cost limit."""
    rfos = [rfo for order in orders for ret in order.get("returns") or []
            for rfo in ret["reverseFulfillmentOrders"]["nodes"]]
    for batch in _batches(rfos, RFO_COST):
        data = client.query(DISPOSITIONS_QUERY, {"ids": [rfo["id"] for rfo in batch]})
        by_id = {node["id"]: node for node in data["nodes"] if node}
        for rfo in batch:
            found = by_id.get(rfo["id"])
            if found is None:
                raise ShopifyQueryError(f"reverse fulfillment order {rfo['id']} vanished while its lines were read")
            if found["lineItems"]["pageInfo"]["hasNextPage"]:
                raise ShopifyQueryError(f"reverse fulfillment order {rfo['id']} has more than {RFO_LINES} lines; "
                                        "raise RFO_LINES in leaks.py (mind the cost)")
            rfo["lineItems"] = {"nodes": found["lineItems"]["nodes"]}


def fill_store_credit(client: Any, orders: list[dict[str, Any]], seen: set[str] | None = None) -> list[dict[str, Any]]:
    """The customer nodes (credit accounts, comments) of the orders' customers, each customer once (and not
    again when already in `seen`, the customers read by earlier pages of the same run; `seen` is updated)."""
    ids = sorted({(o.get("customer") or {}).get("id") for o in orders} - {None} - (seen or set()))
    if seen is not None:
        seen.update(ids)
    customers = []
    for batch in _batches(ids, CREDIT_CUSTOMER_COST):
        data = client.query(CREDIT_QUERY, {"ids": batch})
        for node in data["nodes"]:
            if node is None:
                continue
            accounts = node["storeCreditAccounts"]
            if accounts["pageInfo"]["hasNextPage"] or node["events"]["pageInfo"]["hasNextPage"] or any(
                    a["transactions"]["pageInfo"]["hasNextPage"] for a in accounts["nodes"]):
                raise ShopifyQueryError(f"customer {node['id']} has more store-credit accounts, transactions or "
                                        "comments than CREDIT_QUERY reads; raise its page sizes (mind the cost)")
            customers.append(node)
    return customers


def fill_leaks(client: Any, orders: list[dict[str, Any]], seen_customers: set[str] | None = None) -> None:
    """Returns into each order; the page's store-credit customers onto the first order (`__credit_customers`)."""
    fill_returns(client, orders)
    if orders:
        orders[0]["__credit_customers"] = fill_store_credit(client, orders, seen_customers)


def flatten_returns(order: dict[str, Any], store_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(table, row) pairs of an order's returns: `returns` and `return_line_items`."""
    out: list[tuple[str, dict[str, Any]]] = []
    for ret in order.get("returns") or []:
        received: dict[str, tuple[str, str]] = {}  # fulfillment line item id → (first disposition time, type)
        rfo_status = None
        for rfo in ret["reverseFulfillmentOrders"]["nodes"]:
            rfo_status = rfo["status"]
            for line in rfo["lineItems"]["nodes"]:
                times = sorted((d["createdAt"], d["type"]) for d in line["dispositions"])
                if times and line.get("fulfillmentLineItem"):
                    received[line["fulfillmentLineItem"]["id"]] = times[0]
        lines = ret["returnLineItems"]
        if lines["pageInfo"]["hasNextPage"]:
            raise ShopifyQueryError(f"return {ret['id']} has more than 3 line items; raise their page size")
        out.append(("returns", {
            "id": ret["id"], "order_id": order["id"], "store_id": store_id, "name": ret["name"],
            "status": ret["status"], "created_at": ret["createdAt"], "request_approved_at": ret["requestApprovedAt"],
            "closed_at": ret["closedAt"], "total_quantity": ret["totalQuantity"],
            "received_at": min((t for t, _ in received.values()), default=None),
            "reverse_fulfillment_order_status": rfo_status,
        }))
        for line in lines["nodes"]:
            fli = line.get("fulfillmentLineItem") or {}
            got = received.get(fli.get("id"), (None, None))
            out.append(("return_line_items", {
                "id": line["id"], "return_id": ret["id"], "order_id": order["id"], "store_id": store_id,
                "line_item_id": (fli.get("lineItem") or {}).get("id"), "fulfillment_line_item_id": fli.get("id"),
                "quantity": line["quantity"], "return_reason": line.get("returnReason"),
                "return_reason_handle": (line.get("returnReasonDefinition") or {}).get("handle"),
                "customer_note": line.get("customerNote"), "received_at": got[0], "disposition_type": got[1],
            }))
    return out


def flatten_store_credit(customer: dict[str, Any], store_id: str) -> list[dict[str, Any]]:
    """`store_credit_transactions` rows of one customer node: credits with their origin and timeline note."""
    notes: dict[str, list[str]] = {}
    for event in customer["events"]["nodes"]:
        notes.setdefault(event["createdAt"], []).append(event["message"])
    rows = []
    for account in customer["storeCreditAccounts"]["nodes"]:
        for tx in account["transactions"]["nodes"]:
            if "id" not in tx:  # a debit: this source reads credit transactions only
                continue
            origin = tx.get("origin") or {}
            user = origin.get("user") or {}
            rows.append({
                "id": tx["id"], "store_id": store_id, "account_id": account["id"], "customer_id": customer["id"],
                "order_id": (origin.get("order") or {}).get("id"), "origin_transaction_id": origin.get("id"),
                "amount": tx["amount"]["amount"], "currency": tx["amount"]["currencyCode"],
                "created_at": tx["createdAt"], "expires_at": tx["expiresAt"],
                "issued_by_staff_id": user.get("id"), "issued_by_name": user.get("name"),
                "note": "\n".join(notes.get(tx["createdAt"], [])) or None,
            })
    return rows
