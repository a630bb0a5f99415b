"""The leaks area in Shopify (sandbox/world/leaks.md): returns, replacement orders, store credit, refund staff.

World side (`leak_tables`, applied by `ShopifyWorld.load` to a world already at its clock):
- **Replacement orders** are ordinary orders of their store (zero price, tags `replacement-for:<name>`, no
  transactions): they join the store's orders and their lines the line items. The stale store's feed freeze
  hides those created after it froze, as for every order.
- **Returns** bump their order's `updatedAt` to the latest of requested / approved / received / closed at the
  clock (Shopify updates the order when its return changes), so an `updated_at` search finds a late return.
- **Store credit** bumps the origin order's `updatedAt` to the credit's `createdAt` (a credit with an order
  origin is issued from that order).

Served (resolvers attached with the others; every field is the real 2026-07 schema's):
- `Order.returns(first, after, last, before, reverse)` (ascending id; `query` is refused when given) and
  `Order.returnStatus` (NO_RETURN, RETURN_REQUESTED while one is REQUESTED, IN_PROGRESS while one is OPEN,
  RETURNED when all are CLOSED). Return: id, name (`#1001-R1`), status (REQUESTED → OPEN → CLOSED), createdAt
  (= requested), requestApprovedAt, closedAt, totalQuantity, order, returnLineItems (connection: ReturnLineItem
  id, quantity, returnReason (deprecated enum, still served), returnReasonDefinition {id handle name},
  returnReasonNote (""), customerNote, fulfillmentLineItem {id lineItem quantity}, processed / refundable /
  refunded quantities), reverseFulfillmentOrders (connection: id, status OPEN / CLOSED once received, order,
  lineItems (connection: id, totalQuantity, fulfillmentLineItem, dispositions)).
  **"Received"** is where real Shopify records it: a `ReverseFulfillmentOrderDisposition` (type RESTOCKED, or
  NOT_RESTOCKED for reason DEFECTIVE; createdAt = received) on the reverse fulfillment order's line item,
  written when the merchant receives / inspects the returned item. Reverse deliveries (labels) are empty: label
  cost comes from the label provider's export, not from Shopify.
- `Refund.staffMember`: StaffMember id (stable per handle), name, firstName, lastName, email
  (`<handle>@staff.example`), active, exists, isShopOwner (false), locale (en).
- Store credit by its real path: `Customer.storeCreditAccounts(first)` → `StoreCreditAccount {id balance owner
  transactions(first, after, reverse)}` → `StoreCreditAccountCreditTransaction {id amount createdAt expiresAt
  event (ORDER_REFUND) remainingAmount balanceAfterTransaction account origin}`, also `storeCreditAccount(id:)`
  and Customer GIDs in `nodes(ids:)`. The real API has **no note and no issuer field** on a store-credit
  transaction, so they travel where Shopify has them: `origin` is the OrderTransaction that issued the credit
  (kind REFUND, gateway `shopify_store_credit`, status SUCCESS, `order` = the compensated order, `user` = the
  issuing StaffMember); the note is a staff comment on the customer's timeline (`Customer.events`: CommentEvent
  with the same createdAt as the credit, `author` the issuer, `message` the note). These origin transactions are
  not listed in `Order.transactions` (that list keeps the world's payment transactions only, so cash refunded is
  unchanged).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema

from sandbox.emulators.shopify_resolvers import (
    Node,
    OrderBatch,
    RequestContext,
    child_connection,
    gid,
    line_item_node,
    money_bag,
    order_node,
    parse_gid,
    resolve_connection_edges,
    resolve_connection_page_info,
)
from sandbox.emulators.shopify_world import NO_ID, NO_TIME, TIME_COLUMNS, Row, Table, iso
from sandbox.world import World

STAFF_ID_BASE = 80_000_000_000
RFO_ID_BASE = 43_000_000_000  # reverse fulfillment order = return id + offset; its line and disposition ids too
STAFF_EMAIL_DOMAIN = "staff.example"
REASON_NAMES = {
    "COLOR": "Color", "DEFECTIVE": "Damaged or defective", "NOT_AS_DESCRIBED": "Item not as described",
    "OTHER": "Other", "SIZE_TOO_LARGE": "Size was too large", "SIZE_TOO_SMALL": "Size was too small",
    "STYLE": "Style", "UNKNOWN": "Unknown", "UNWANTED": "Changed mind", "WRONG_ITEM": "Received the wrong item",
}
RETURN_TIME_COLUMNS = ("requested_at", "approved_at", "received_at", "closed_at")


def staff_id(handle: str) -> int:
    """A stable StaffMember id per staff handle."""
    return STAFF_ID_BASE + zlib.crc32(handle.encode())


# ---------------------------------------------------------------- world side


@dataclass(frozen=True)
class LeakTables:
    returns: Table  # grouped by order_id
    refund_staff: dict[int, str]  # refund id → staff handle
    staff_names: dict[str, str]  # handle → display name
    credits: Table  # grouped by customer_id
    fulfillment_line_of: dict[int, int]  # line item id → its (first) fulfillment line item id


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def with_replacement_orders(world: World) -> World:
    """The world (at its clock) with the leaks area's replacement orders and lines among the base ones."""
    area = world.areas.get("leaks") or {}
    rep = area.get("replacement_orders")
    if rep is None or rep.empty:
        return world
    stale = world.meta.get("stale_store")
    if stale:
        frozen = (rep["store_id"] == stale["store_id"]) & (rep["created_at"] > pd.Timestamp(stale["frozen_at"]))
        rep = rep[~frozen]
    rep = rep[list(world.orders.columns)].astype(world.orders.dtypes.to_dict())
    lines = area["replacement_line_items"]
    lines = lines[lines["order_id"].isin(rep["order_id"])][list(world.line_items.columns)]
    world.orders = pd.concat([world.orders, rep], ignore_index=True)
    world.line_items = pd.concat([world.line_items, lines.astype(world.line_items.dtypes.to_dict())],
                                 ignore_index=True)
    return world


def _latest(times: pd.DataFrame) -> pd.Series:
    return times.max(axis=1, skipna=True)


def bump_for_leaks(orders: pd.DataFrame, world: World) -> pd.DataFrame:
    """Orders with `updated_at` also moved by their returns' changes and their store-credit transactions."""
    area = world.areas.get("leaks") or {}
    changes = []
    ret = area.get("returns")
    if ret is not None and not ret.empty:
        changes.append(pd.DataFrame({"order_id": ret["order_id"],
                                     "at": _latest(ret[list(RETURN_TIME_COLUMNS)])}))
    credits = area.get("store_credit_transactions")
    if credits is not None and not credits.empty:
        changes.append(pd.DataFrame({"order_id": credits["order_id"], "at": credits["created_at"]}))
    if not changes:
        return orders
    changed_all = pd.concat(changes, ignore_index=True)
    stale = world.meta.get("stale_store")
    if stale:  # the frozen store's feed shows no change after it froze
        frozen = changed_all["order_id"].isin(orders.loc[orders["store_id"] == stale["store_id"], "order_id"])
        changed_all = changed_all[~(frozen & (changed_all["at"] > pd.Timestamp(stale["frozen_at"])))]
    last = changed_all.groupby("order_id")["at"].max()
    changed = orders["order_id"].map(last)
    orders = orders.copy()
    later = changed.notna() & (changed > orders["updated_at"])
    orders["updated_at"] = orders["updated_at"].where(~later, changed)
    return orders


def leak_tables(world: World, fulfillment_lines: pd.DataFrame) -> LeakTables:
    """Index the leaks area (world at its clock) for the resolvers; empty when the world has no leaks area."""
    area = world.areas.get("leaks") or {}
    ret = area.get("returns")
    if ret is None:
        ret = _empty({"return_id": "int64", "order_id": "int64", "name": "object", "return_reason": "object",
                      "customer_note": "object", "status": "object", "line_item_id": "int64", "quantity": "int64",
                      **{c: "datetime64[us, UTC]" for c in RETURN_TIME_COLUMNS}})
    ret = ret[["return_id", "order_id", "name", "return_reason", "customer_note", "status", "line_item_id",
               "quantity", *RETURN_TIME_COLUMNS]]
    ret = ret[ret["order_id"].isin(world.orders["order_id"])]
    stale = world.meta.get("stale_store")
    frozen_orders = world.orders.loc[world.orders["store_id"] == (stale or {}).get("store_id"), "order_id"]
    if stale:  # the frozen store's feed shows nothing newer than its freeze
        ret = ret[~(ret["order_id"].isin(frozen_orders) & (ret["requested_at"] > pd.Timestamp(stale["frozen_at"])))]
    credits = area.get("store_credit_transactions")
    if credits is None:
        credits = _empty({"store_credit_transaction_id": "int64", "store_credit_account_id": "int64",
                          "store_id": "object", "customer_id": "int64", "order_id": "int64",
                          "amount_cents": "int64", "currency": "object", "created_at": "datetime64[us, UTC]",
                          "expires_at": "datetime64[us, UTC]", "issued_by": "object", "note": "object"})
    credits = credits[["store_credit_transaction_id", "store_credit_account_id", "store_id", "customer_id",
                       "order_id", "amount_cents", "currency", "created_at", "expires_at", "issued_by", "note"]]
    credits = credits[credits["order_id"].isin(world.orders["order_id"])]
    if stale:
        credits = credits[~(credits["order_id"].isin(frozen_orders)
                            & (credits["created_at"] > pd.Timestamp(stale["frozen_at"])))]
    staff = area.get("refund_staff")
    approvers = area.get("approvers")
    fl = fulfillment_lines.sort_values("fulfillment_line_item_id").drop_duplicates("line_item_id")
    return LeakTables(
        returns=_table(ret, "return_id", ("order_id",)),
        refund_staff={} if staff is None else dict(zip(staff["refund_id"].astype(int), staff["staff"])),
        staff_names={} if approvers is None else dict(zip(approvers["staff"], approvers["name"])),
        credits=_table(credits.rename(columns={"store_credit_transaction_id": "credit_id"}), "credit_id",
                       ("customer_id",)),
        fulfillment_line_of=dict(zip(fl["line_item_id"].astype(int), fl["fulfillment_line_item_id"].astype(int))),
    )


def _table(df: pd.DataFrame, id_col: str, groups: tuple[str, ...]) -> Table:
    """A `Table` whose time columns are all epoch seconds (`Table` converts only the order tables' names)."""
    out = df.copy()
    for col in out.columns:
        if col not in TIME_COLUMNS and (isinstance(out[col].dtype, pd.DatetimeTZDtype) or col.endswith("_at")):
            values = pd.to_datetime(out[col], utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
            seconds = values.astype("datetime64[s]").view(np.int64).copy()
            seconds[np.isnat(values)] = NO_TIME
            out[col] = seconds
    return Table(out, id_col, groups)


# ---------------------------------------------------------------- nodes


def _leaks(info: GraphQLResolveInfo) -> LeakTables:
    return info.context.world.leaks


def staff_node(handle: str | None, names: dict[str, str]) -> Node | None:
    if not handle:
        return None
    name = names.get(handle) or handle.replace("-", " ").title()
    first, _, last = name.partition(" ")
    return {
        "__typename": "StaffMember", "id": gid("StaffMember", staff_id(handle)), "name": name,
        "firstName": first, "lastName": last or None, "email": f"{handle}@{STAFF_EMAIL_DOMAIN}",
        "active": True, "exists": True, "isShopOwner": False, "locale": "en",
        "initials": [p[0].upper() for p in name.split()[:2]],
    }


def _return_status(rows: list[Row]) -> str:
    statuses = {r["status"] for r in rows}
    if not statuses:
        return "NO_RETURN"
    if "REQUESTED" in statuses:
        return "RETURN_REQUESTED"
    if "OPEN" in statuses:
        return "IN_PROGRESS"
    return "RETURNED"


def _order_returns(batch: OrderBatch, order_id: int) -> list[Row]:
    by_order = batch._load("returns", lambda: batch.world.leaks.returns.rows_by_parent(
        "order_id", [row["order_id"] for row in batch.orders]))
    return by_order.get(order_id, [])


def return_node(row: Row, order: Node) -> Node:
    return {
        "__typename": "Return", "__row": row, "__order": order,
        "id": gid("Return", row["return_id"]), "name": row["name"], "status": row["status"],
        "createdAt": iso(row["requested_at"]), "requestApprovedAt": iso(row["approved_at"]),
        "closedAt": iso(row["closed_at"]), "totalQuantity": row["quantity"], "order": order,
        "returnShippingFees": [],
    }


def _fulfillment_line(ret: Node, info: GraphQLResolveInfo) -> Node:
    row, order = ret["__row"], ret["__order"]
    batch = order["__batch"]
    line = batch.line_item(row["line_item_id"], order["__row"]["order_id"])
    fli = _leaks(info).fulfillment_line_of.get(row["line_item_id"], NO_ID)
    return {
        "__typename": "FulfillmentLineItem",
        "id": gid("FulfillmentLineItem", fli if fli != NO_ID else row["line_item_id"]),
        "quantity": row["quantity"],
        "lineItem": None if line is None else line_item_node(line, order["currencyCode"]),
    }


def return_line_node(ret: Node, info: GraphQLResolveInfo) -> Node:
    row = ret["__row"]
    reason = row["return_reason"] or "UNKNOWN"
    closed = row["status"] == "CLOSED"
    return {
        "__typename": "ReturnLineItem",
        "id": gid("ReturnLineItem", row["return_id"]),  # one line per return in the world
        "quantity": row["quantity"], "returnReason": reason,
        "returnReasonDefinition": {"__typename": "ReturnReasonDefinition",
                                   "id": gid("ReturnReasonDefinition", 1 + sorted(REASON_NAMES).index(reason)),
                                   "handle": reason.lower().replace("_", "-"), "name": REASON_NAMES[reason],
                                   "deleted": False},
        "returnReasonNote": "", "customerNote": row["customer_note"],
        "fulfillmentLineItem": _fulfillment_line(ret, info),
        "processedQuantity": row["quantity"] if closed else 0,
        "unprocessedQuantity": 0 if closed else row["quantity"],
        "processableQuantity": 0 if closed else row["quantity"],
        "refundableQuantity": 0 if closed else row["quantity"],
        "refundedQuantity": 0,
    }


def reverse_fulfillment_order_node(ret: Node, info: GraphQLResolveInfo) -> Node:
    row = ret["__row"]
    received = row["received_at"] != NO_TIME
    dispositions = [] if not received else [{
        "__typename": "ReverseFulfillmentOrderDisposition",
        "id": gid("ReverseFulfillmentOrderDisposition", RFO_ID_BASE + row["return_id"]),
        "createdAt": iso(row["received_at"]), "quantity": row["quantity"],
        "type": "NOT_RESTOCKED" if row["return_reason"] == "DEFECTIVE" else "RESTOCKED",
    }]
    line = {"__typename": "ReverseFulfillmentOrderLineItem",
            "id": gid("ReverseFulfillmentOrderLineItem", RFO_ID_BASE + row["return_id"]),
            "totalQuantity": row["quantity"], "fulfillmentLineItem": _fulfillment_line(ret, info),
            "dispositions": dispositions}
    return {
        "__typename": "ReverseFulfillmentOrder", "__line": line,
        "id": gid("ReverseFulfillmentOrder", RFO_ID_BASE + row["return_id"]),
        "status": "CLOSED" if received else "OPEN", "order": ret["__order"],
    }


def _one(node: Node, id_: int, args: dict[str, Any]) -> Node:
    return child_connection([{"__id": id_, "__node": node}], "__id", args, lambda r: r["__node"])


# ---------------------------------------------------------------- store credit


def _customer_credits(info: GraphQLResolveInfo, customer_id: int) -> list[Row]:
    store = info.context.store.store_id
    rows = _leaks(info).credits.rows_by_parent("customer_id", [customer_id]).get(customer_id, [])
    return [r for r in rows if r["store_id"] == store]


def _accounts(info: GraphQLResolveInfo, customer_id: int) -> list[list[Row]]:
    """The customer's store-credit accounts in this shop (one per currency), each as its credit rows by time."""
    by_account: dict[int, list[Row]] = {}
    for row in _customer_credits(info, customer_id):
        by_account.setdefault(row["store_credit_account_id"], []).append(row)
    return [sorted(rows, key=lambda r: (r["created_at"], r["credit_id"])) for _, rows in sorted(by_account.items())]


def _money(cents: int, currency: str) -> Node:
    return money_bag(cents, currency)["shopMoney"]


def account_node(rows: list[Row], customer: Node) -> Node:
    first = rows[0]
    return {
        "__typename": "StoreCreditAccount", "__rows": rows, "__customer": customer,
        "id": gid("StoreCreditAccount", first["store_credit_account_id"]),
        "balance": _money(sum(r["amount_cents"] for r in rows), first["currency"]),
        "owner": customer,
    }


def credit_node(row: Row, account: Node, balance_after: int, info: GraphQLResolveInfo) -> Node:
    ccy = row["currency"]
    return {
        "__typename": "StoreCreditAccountCreditTransaction", "__row": row,
        "id": gid("StoreCreditAccountCreditTransaction", row["credit_id"]),
        "amount": _money(row["amount_cents"], ccy), "remainingAmount": _money(row["amount_cents"], ccy),
        "balanceAfterTransaction": _money(balance_after, ccy),
        "createdAt": iso(row["created_at"]), "expiresAt": iso(row["expires_at"]), "event": "ORDER_REFUND",
        "account": account, "origin": origin_node(row, info),
    }


def origin_node(row: Row, info: GraphQLResolveInfo) -> Node:
    """The OrderTransaction that issued a credit: a store-credit refund on the compensated order."""
    ctx: RequestContext = info.context
    pos = ctx.store.orders.position(row["order_id"])
    order = None
    if pos is not None:
        orders = ctx.store.orders.rows([pos])
        order = order_node(orders[0], OrderBatch(ctx.world, orders))
    return {
        "__typename": "OrderTransaction", "__row": {"parent_transaction_id": NO_ID}, "__batch": None,
        "id": gid("OrderTransaction", row["credit_id"]), "kind": "REFUND", "status": "SUCCESS",
        "gateway": "shopify_store_credit", "formattedGateway": "Store credit",
        "amountSet": money_bag(row["amount_cents"], row["currency"]), "createdAt": iso(row["created_at"]),
        "processedAt": iso(row["created_at"]), "test": False, "manualPaymentGateway": False,
        "manuallyCapturable": False, "multiCapturable": False, "fees": [], "order": order,
        "user": staff_node(row["issued_by"], _leaks(info).staff_names),
    }


def comment_event_node(row: Row, info: GraphQLResolveInfo) -> Node:
    return {
        "__typename": "CommentEvent", "id": gid("CommentEvent", row["credit_id"]),
        "createdAt": iso(row["created_at"]), "message": row["note"], "action": "comment", "appTitle": None,
        "attributeToApp": False, "attributeToUser": True, "criticalAlert": False, "attachments": [],
        "author": staff_node(row["issued_by"], _leaks(info).staff_names), "edited": False,
        "canDelete": True, "canEdit": True, "rawMessage": row["note"],
    }


# ---------------------------------------------------------------- resolvers


def resolve_order_returns(order: Node, info: GraphQLResolveInfo, **args: Any) -> Node:
    if args.pop("query", None):
        raise GraphQLError("emulator: Order.returns(query:) is not supported")
    rows = _order_returns(order["__batch"], order["__row"]["order_id"])
    return child_connection(rows, "return_id", args, lambda r: return_node(r, order))


def resolve_order_return_status(order: Node, _info: GraphQLResolveInfo) -> str:
    return _return_status(_order_returns(order["__batch"], order["__row"]["order_id"]))


def resolve_return_line_items(ret: Node, info: GraphQLResolveInfo, **args: Any) -> Node:
    args.pop("processingStatus", None)
    return _one(return_line_node(ret, info), ret["__row"]["return_id"], args)


def resolve_return_rfos(ret: Node, info: GraphQLResolveInfo, **args: Any) -> Node:
    return _one(reverse_fulfillment_order_node(ret, info), ret["__row"]["return_id"], args)


def resolve_rfo_line_items(rfo: Node, _info: GraphQLResolveInfo, **args: Any) -> Node:
    return _one(rfo["__line"], 0, args)


def resolve_empty_connection(_obj: Node, _info: GraphQLResolveInfo, **args: Any) -> Node:
    return child_connection([], "id", {k: v for k, v in args.items() if k in {"first", "last", "after", "before",
                                                                                "reverse"}}, lambda r: r)


def resolve_refund_staff_member(refund: Node, info: GraphQLResolveInfo) -> Node | None:
    leaks = _leaks(info)
    return staff_node(leaks.refund_staff.get(refund["__row"]["refund_id"]), leaks.staff_names)


def _customer_id(customer: Node) -> int:
    return parse_gid(customer["id"])[1]


def resolve_customer_accounts(customer: Node, info: GraphQLResolveInfo, **args: Any) -> Node:
    if args.pop("query", None):
        raise GraphQLError("emulator: Customer.storeCreditAccounts(query:) is not supported")
    accounts = _accounts(info, _customer_id(customer))
    rows = [{"account_id": a[0]["store_credit_account_id"], "__rows": a} for a in accounts]
    return child_connection(rows, "account_id", args, lambda r: account_node(r["__rows"], customer))


def resolve_account_transactions(account: Node, info: GraphQLResolveInfo, **args: Any) -> Node:
    if args.pop("query", None) or args.pop("sortKey", None) not in (None, "ID", "CREATED_AT"):
        raise GraphQLError("emulator: StoreCreditAccount.transactions supports no query and sortKey ID or "
                           "CREATED_AT (the same order: ids follow creation)")
    rows = account["__rows"]
    balances = dict(zip((r["credit_id"] for r in rows), np.cumsum([r["amount_cents"] for r in rows]).tolist(),
                        strict=True))
    return child_connection(sorted(rows, key=lambda r: r["credit_id"]), "credit_id", args,
                            lambda r: credit_node(r, account, balances[r["credit_id"]], info))


def resolve_customer_events(customer: Node, info: GraphQLResolveInfo, **args: Any) -> Node:
    """Customer.events: the staff comments written with store credit (`query` ignored but for `verb:comment`)."""
    query = args.pop("query", None)
    if args.pop("sortKey", None) not in (None, "ID", "CREATED_AT") or (query and query != "verb:comment"):
        raise GraphQLError("emulator: Customer.events supports only query 'verb:comment' and sortKey ID")
    rows = [r for r in _customer_credits(info, _customer_id(customer)) if r["note"] is not None]
    return child_connection(rows, "credit_id", args, lambda r: comment_event_node(r, info))


def resolve_store_credit_account(_root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:  # noqa: A002
    type_name, account_id = parse_gid(id)
    if type_name != "StoreCreditAccount":
        return None
    leaks = _leaks(info)
    store = info.context.store.store_id
    col = leaks.credits.cols["store_credit_account_id"]
    pos = np.flatnonzero(col == account_id)
    rows = [r for r in leaks.credits.rows(pos) if r["store_id"] == store]
    if not rows:
        return None
    customer = customer_by_id(info, rows[0]["customer_id"])
    return None if customer is None else account_node(sorted(rows, key=lambda r: (r["created_at"], r["credit_id"])),
                                                      customer)


def customer_by_id(info: GraphQLResolveInfo, customer_id: int) -> Node | None:
    from sandbox.emulators.shopify_resolvers import customer_node

    row = info.context.world.customers.rows_by_id([customer_id]).get(customer_id)
    return None if row is None else customer_node(row)


CONNECTION_TYPES = ("ReturnConnection", "ReturnLineItemTypeConnection", "ReverseFulfillmentOrderConnection",
                    "ReverseFulfillmentOrderLineItemConnection", "ReverseDeliveryConnection",
                    "ExchangeLineItemConnection", "StoreCreditAccountConnection",
                    "StoreCreditAccountTransactionConnection", "EventConnection")
RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    **{(name, "edges"): resolve_connection_edges for name in CONNECTION_TYPES},
    **{(name, "pageInfo"): resolve_connection_page_info for name in CONNECTION_TYPES},
    ("Order", "returns"): resolve_order_returns,
    ("Order", "returnStatus"): resolve_order_return_status,
    ("Return", "returnLineItems"): resolve_return_line_items,
    ("Return", "reverseFulfillmentOrders"): resolve_return_rfos,
    ("Return", "exchangeLineItems"): resolve_empty_connection,
    ("ReverseFulfillmentOrder", "lineItems"): resolve_rfo_line_items,
    ("ReverseFulfillmentOrder", "reverseDeliveries"): resolve_empty_connection,
    ("Refund", "staffMember"): resolve_refund_staff_member,
    ("Customer", "storeCreditAccounts"): resolve_customer_accounts,
    ("Customer", "events"): resolve_customer_events,
    ("StoreCreditAccount", "transactions"): resolve_account_transactions,
    ("QueryRoot", "storeCreditAccount"): resolve_store_credit_account,
}


def _find_reverse_fulfillment_order(info: GraphQLResolveInfo, value: str) -> Node | None:
    """A ReverseFulfillmentOrder GID of a return of this store's orders at the clock, as its node; else None."""
    type_name, id_ = parse_gid(value)
    if type_name != "ReverseFulfillmentOrder":
        return None
    ctx = info.context
    row = _leaks(info).returns.rows_by_id([id_ - RFO_ID_BASE]).get(id_ - RFO_ID_BASE)
    position = None if row is None else ctx.store.orders.position(row["order_id"])
    if position is None:
        return None
    rows = ctx.store.orders.rows([position])
    order = order_node(rows[0], OrderBatch(ctx.world, rows))
    return reverse_fulfillment_order_node(return_node(row, order), info)


def _with_reverse_fulfillment_orders(original: Callable[..., Any]) -> Callable[..., Any]:
    """QueryRoot.nodes(ids:) that also finds ReverseFulfillmentOrders (a return's received dispositions sit
    three connections below `orders`, deeper than a bulk query may go, so the source reads them by id)."""

    def resolve_nodes(root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Node | None]:
        found = original(root, info, ids=ids)
        extra = [None if node is not None else _find_reverse_fulfillment_order(info, value)
                 for node, value in zip(found, ids, strict=True)]
        info.context.record(info.field_name, sum(node is not None for node in extra))
        return [node if node is not None else more for node, more in zip(found, extra, strict=True)]

    resolve_nodes.leaks_wrapper = True  # type: ignore[attr-defined]
    return resolve_nodes


def attach_leak_resolvers(schema: GraphQLSchema) -> None:
    """Set `.resolve` on the fields served here (idempotent; QueryRoot.nodes is wrapped once)."""
    for (type_name, field_name), resolver in RESOLVERS.items():
        type_ = schema.get_type(type_name)
        if not isinstance(type_, GraphQLObjectType) or field_name not in type_.fields:
            raise RuntimeError(f"schema has no field {type_name}.{field_name}")
        type_.fields[field_name].resolve = resolver
    assert schema.query_type is not None
    nodes = schema.query_type.fields["nodes"]
    if nodes.resolve is not None and not getattr(nodes.resolve, "leaks_wrapper", False):
        nodes.resolve = _with_reverse_fulfillment_orders(nodes.resolve)
