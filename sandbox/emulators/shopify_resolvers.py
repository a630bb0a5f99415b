"""Resolvers attached to the real Shopify Admin schema types (see `sandbox.emulators.shopify` for the list).

Objects are plain dicts keyed by the schema's field names, so the default resolver serves scalars; fields that
need arguments or lookups get a `.resolve` here. Internal keys start with `__` (no schema field can).
Everything request-specific comes from `info.context` (`RequestContext`): the schema object and its resolvers
are shared by the whole process.

Child rows are loaded per page, not per order (the DataLoader pattern): every Order node of one response
points to the same `OrderBatch`, which fetches line items, transactions, refunds, refund line items and
customers of all the page's orders with one vectorised lookup per table, on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from graphql import FieldNode, GraphQLError, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema

from sandbox.emulators.shopify_paging import (
    MAX_PAGE_SIZE,
    Page,
    PageRequest,
    PagingError,
    Predicate,
    check_page_size,
    decode_cursor,
    encode_cursor,
    paginate,
)
from sandbox.emulators.shopify_search import SearchError, parse_search, search_fields_from_description
from sandbox.emulators.shopify_world import NO_ID, Row, ShopifyWorld, SortIndex, Store, iso

Node = dict[str, Any]
TIME_SORT_KEYS = frozenset({"CREATED_AT", "UPDATED_AT", "PROCESSED_AT"})
SEARCH_COLUMNS = {"id": "order_id", "created_at": "created_at", "updated_at": "updated_at",
                  "processed_at": "processed_at"}
SORT_FIELD = {"ID": "id", "CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "PROCESSED_AT": "processed_at"}
_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>\d+)(?:\?.*)?$")


@dataclass
class RequestContext:
    """Per-request state handed to every resolver as `info.context`."""

    world: ShopifyWorld
    store: Store
    record: Callable[[str, int], None]  # (root field, objects served)
    order_search_fields: frozenset[str] = frozenset()
    search_notes: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------- rendering helpers


def gid(type_name: str, id_: int) -> str:
    return f"gid://shopify/{type_name}/{id_}"


def parse_gid(value: str) -> tuple[str, int]:
    """(type, numeric id) of a Shopify GID; a GraphQL error like Shopify's for anything else."""
    match = _GID.match(value or "")
    if match is None:
        raise GraphQLError(f"Invalid global id '{value}'")
    return match["type"], int(match["id"])


def amount(cents: int) -> str:
    """Integer cents as a decimal string with two places (`1230` → `"12.30"`)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def money_bag(cents: int, currency: str) -> Node:
    """A MoneyBag; shop and presentment money are both the order currency."""
    money = {"amount": amount(cents), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


# ---------------------------------------------------------------- the per-page loader


class OrderBatch:
    """The orders of one response and, loaded in bulk on first use, their child rows."""

    def __init__(self, world: ShopifyWorld, orders: list[Row]) -> None:
        self.world = world
        self.orders = orders
        self._cache: dict[str, Any] = {}

    def _load(self, key: str, loader: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = loader()
        return self._cache[key]

    def _order_ids(self) -> list[int]:
        return [row["order_id"] for row in self.orders]

    def line_items(self, order_id: int) -> list[Row]:
        by_order = self._load("line_items", lambda: self.world.line_items.rows_by_parent(
            "order_id", self._order_ids()))
        return by_order.get(order_id, [])

    def line_item(self, line_item_id: int, order_id: int) -> Row | None:
        for row in self.line_items(order_id):
            if row["line_item_id"] == line_item_id:
                return row
        return self.world.line_items.rows_by_id([line_item_id]).get(line_item_id)

    def transactions(self, order_id: int) -> list[Row]:
        by_order = self._load("transactions", lambda: self.world.transactions.rows_by_parent(
            "order_id", self._order_ids()))
        return by_order.get(order_id, [])

    def refund_transactions(self, order_id: int, refund_id: int) -> list[Row]:
        return [row for row in self.transactions(order_id) if row["refund_id"] == refund_id]

    def transaction(self, transaction_id: int, order_id: int) -> Row | None:
        for row in self.transactions(order_id):
            if row["transaction_id"] == transaction_id:
                return row
        return self.world.transactions.rows_by_id([transaction_id]).get(transaction_id)

    def refunds(self, order_id: int) -> list[Row]:
        by_order = self._load("refunds", lambda: self.world.refunds.rows_by_parent(
            "order_id", self._order_ids()))
        return by_order.get(order_id, [])

    def refund_line_items(self, refund_id: int) -> list[Row]:
        def load() -> dict[int, list[Row]]:
            refund_ids = [row["refund_id"] for order_id in self._order_ids() for row in self.refunds(order_id)]
            return self.world.refund_line_items.rows_by_parent("refund_id", refund_ids)

        return self._load("refund_line_items", load).get(refund_id, [])

    def customer(self, customer_id: int) -> Row | None:
        by_id = self._load("customers", lambda: self.world.customers.rows_by_id(
            [row["customer_id"] for row in self.orders if row["customer_id"] != NO_ID]))
        return by_id.get(customer_id)


# ---------------------------------------------------------------- node builders


def order_node(row: Row, batch: OrderBatch) -> Node:
    currency = row["currency"]
    tags = row["tags"]
    return {
        "__typename": "Order",
        "__row": row,
        "__batch": batch,
        "id": gid("Order", row["order_id"]),
        "name": row["name"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "processedAt": iso(row["processed_at"]),
        "cancelledAt": iso(row["cancelled_at"]),
        "cancelReason": row["cancel_reason"],
        "tags": [] if tags is None else [str(tag) for tag in tags],
        "note": row["note"],
        "email": row["email"],
        "currencyCode": currency,
        "test": row["test"],
        "totalShippingPriceSet": money_bag(row["shipping_price_cents"], currency),
    }


def line_item_node(row: Row, currency: str) -> Node:
    return {
        "__typename": "LineItem",
        "id": gid("LineItem", row["line_item_id"]),
        "sku": row["sku"],
        "title": row["title"],
        "name": row["title"],
        "quantity": row["quantity"],
        "originalUnitPriceSet": money_bag(row["unit_price_cents"], currency),
        "totalDiscountSet": money_bag(row["discount_cents"], currency),
    }


def transaction_node(row: Row, batch: OrderBatch) -> Node:
    return {
        "__typename": "OrderTransaction",
        "__row": row,
        "__batch": batch,
        "id": gid("OrderTransaction", row["transaction_id"]),
        "kind": row["kind"],
        "status": row["status"],
        "gateway": row["gateway"],
        "amountSet": money_bag(row["amount_cents"], row["currency"]),
        "createdAt": iso(row["created_at"]),
        "processedAt": iso(row["processed_at"]),
        "paymentId": row["payment_id"],
        "errorCode": row["error_code"],
    }


def refund_node(row: Row, order: Row, batch: OrderBatch) -> Node:
    return {
        "__typename": "Refund",
        "__row": row,
        "__order": order,
        "__batch": batch,
        "id": gid("Refund", row["refund_id"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "note": row["note"],
    }


def refund_line_item_node(row: Row, order: Row, batch: OrderBatch) -> Node:
    return {
        "__typename": "RefundLineItem",
        "__row": row,
        "__order": order,
        "__batch": batch,
        "id": gid("RefundLineItem", row["refund_line_item_id"]),
        "quantity": row["quantity"],
        "restockType": row["restock_type"],
        "restocked": False,
        "subtotalSet": money_bag(row["subtotal_cents"], order["currency"]),
    }


def customer_node(row: Row) -> Node:
    return {
        "__typename": "Customer",
        "id": gid("Customer", row["customer_id"]),
        "email": row["email"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
    }


# ---------------------------------------------------------------- connections


def page_request(args: dict[str, Any], *, time_valued: bool) -> PageRequest:
    """Validate and decode the Relay arguments of a connection field."""
    first, last = args.get("first"), args.get("last")
    try:
        check_page_size(first, last)
        after, before = args.get("after"), args.get("before")
        return PageRequest(
            first=first,
            last=last,
            after=None if after is None else decode_cursor(after, time_valued=time_valued),
            before=None if before is None else decode_cursor(before, time_valued=time_valued),
            reverse=bool(args.get("reverse")),
        )
    except PagingError as exc:
        raise GraphQLError(str(exc)) from exc


@dataclass(frozen=True)
class PageSource:
    """What a connection needs to render its edges and pageInfo, which are built only when selected."""

    index: SortIndex
    page: Page
    nodes: list[Node]
    time_valued: bool

    def cursor(self, i: int) -> str:
        return encode_cursor(int(self.index.ids[i]), int(self.index.values[i]), time_valued=self.time_valued)

    def edges(self) -> list[Node]:
        return [{"cursor": self.cursor(i), "node": node}
                for i, node in zip(self.page.indices, self.nodes, strict=True)]

    def page_info(self, with_cursors: bool = True) -> Node:
        """The PageInfo; without `with_cursors` the cursors are left out (for selections that do not ask)."""
        info = {"hasNextPage": self.page.has_next, "hasPreviousPage": self.page.has_previous}
        if with_cursors:
            indices = self.page.indices
            info["startCursor"] = self.cursor(indices[0]) if indices else None
            info["endCursor"] = self.cursor(indices[-1]) if indices else None
        return info


def connection(index: SortIndex, page: Page, nodes: list[Node], *, time_valued: bool) -> Node:
    """A `...Connection` object; `nodes` are the page's nodes in order, edges/pageInfo are resolved lazily."""
    return {"nodes": nodes, "__page": PageSource(index, page, nodes, time_valued)}


def resolve_connection_edges(conn: Node, _info: GraphQLResolveInfo) -> list[Node]:
    """`edges` of any served connection type."""
    return conn["__page"].edges()


def _selected_names(info: GraphQLResolveInfo) -> frozenset[str] | None:
    """Names of the fields selected directly below this field; None when fragments are involved."""
    names = set()
    for node in info.field_nodes:
        for selection in node.selection_set.selections if node.selection_set else ():
            if not isinstance(selection, FieldNode):
                return None
            names.add(selection.name.value)
    return frozenset(names)


def resolve_connection_page_info(conn: Node, info: GraphQLResolveInfo) -> Node:
    """`pageInfo` of any served connection type (cursors are encoded only when selected)."""
    names = _selected_names(info)
    return conn["__page"].page_info(with_cursors=names is None or bool(names & {"startCursor", "endCursor"}))


def child_connection(rows: list[Row], id_col: str, args: dict[str, Any],
                     make_node: Callable[[Row], Node]) -> Node:
    """A connection over a small child list (ascending id; cursors by id)."""
    ids = [row[id_col] for row in rows]
    index = SortIndex(values=ids, ids=ids, positions=range(len(ids)))
    first = args.get("first")
    if (type(first) is int and 0 <= first <= MAX_PAGE_SIZE and args.get("last") is None
            and args.get("after") is None and args.get("before") is None and not args.get("reverse")):
        # the common `first: n` alone: what `paginate` answers, without its general machinery
        page = Page(indices=list(range(min(first, len(ids)))), has_previous=False, has_next=len(ids) > first)
    else:
        page = paginate(index, page_request(args, time_valued=False))
    return connection(index, page, [make_node(rows[i]) for i in page.indices], time_valued=False)


# ---------------------------------------------------------------- root fields


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context


def _range_predicate(col: np.ndarray, low: int | None, high: int | None) -> Predicate:
    def predicate(positions: np.ndarray) -> np.ndarray:
        values = col[positions]
        mask = np.ones(values.shape[0], dtype=bool)
        if low is not None:
            mask &= values >= low
        if high is not None:
            mask &= values <= high
        return mask

    return predicate


def _all_of(predicates: list[Predicate]) -> Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    return lambda positions: np.logical_and.reduce([p(positions) for p in predicates])


def _order_nodes(ctx: RequestContext, positions: Sequence[int]) -> list[Node]:
    rows = ctx.store.orders.rows(list(positions))
    batch = OrderBatch(ctx.world, rows)
    return [order_node(row, batch) for row in rows]


def _search(ctx: RequestContext, info: GraphQLResolveInfo, sort_key: str,
            query: str | None) -> tuple[int | None, int | None, Predicate | None]:
    """(low, high) on the sort key and a predicate for the other fields, from the `query` argument."""
    store = ctx.store
    try:
        search = parse_search(query, tz=store.tz, now=ctx.world.as_of, known_fields=ctx.order_search_fields)
    except SearchError as exc:
        raise GraphQLError(str(exc)) from exc
    if search.warnings:
        ctx.search_notes.append({"path": [info.field_name], "query": query, "warnings": search.warnings})
    low = high = None
    predicates: list[Predicate] = []
    for name, rng in search.ranges.items():
        if name == SORT_FIELD.get(sort_key):
            low, high = rng.low, rng.high
        else:
            predicates.append(_range_predicate(store.orders.cols[SEARCH_COLUMNS[name]], rng.low, rng.high))
    return low, high, _all_of(predicates)


def resolve_orders(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    """QueryRoot.orders: the store's orders at the clock, sorted, filtered and paginated."""
    ctx = _ctx(info)
    sort_key = args.get("sortKey") or "PROCESSED_AT"
    if sort_key not in ctx.store.sort_indexes:
        raise GraphQLError(f"emulator: sortKey {sort_key} is not supported (use ID, CREATED_AT, UPDATED_AT, "
                           "PROCESSED_AT or ORDER_NUMBER)")
    time_valued = sort_key in TIME_SORT_KEYS
    req = page_request(args, time_valued=time_valued)
    low, high, predicate = _search(ctx, info, sort_key, args.get("query"))
    index = ctx.store.sort_indexes[sort_key]
    page = paginate(index, req, low=low, high=high, predicate=predicate)
    nodes = _order_nodes(ctx, [int(index.positions[i]) for i in page.indices])
    ctx.record(info.field_name, len(nodes))
    return connection(index, page, nodes, time_valued=time_valued)


def _find_orders(ctx: RequestContext, values: list[str]) -> list[Node | None]:
    """Order nodes for GIDs (None for other types and unknown ids), loaded as one batch."""
    positions: list[int | None] = []
    for value in values:
        type_name, id_ = parse_gid(value)
        positions.append(ctx.store.orders.position(id_) if type_name == "Order" else None)
    found = iter(_order_nodes(ctx, [p for p in positions if p is not None]))
    return [None if p is None else next(found) for p in positions]


def resolve_order(_root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:  # noqa: A002
    """QueryRoot.order(id:)."""
    node = _find_orders(_ctx(info), [id])[0]
    _ctx(info).record(info.field_name, int(node is not None))
    return node


def resolve_node(_root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:  # noqa: A002
    """QueryRoot.node(id:): Orders only; any other type resolves to null."""
    return resolve_order(_root, info, id)


def _find_customer(ctx: RequestContext, value: str) -> Node | None:
    type_name, id_ = parse_gid(value)
    row = ctx.world.customers.rows_by_id([id_]).get(id_) if type_name == "Customer" else None
    return None if row is None else customer_node(row)


def resolve_nodes(_root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Node | None]:
    """QueryRoot.nodes(ids:): Orders and Customers; any other id resolves to null."""
    ctx = _ctx(info)
    found = _find_orders(ctx, ids)
    found = [node if node is not None else _find_customer(ctx, value) for node, value in zip(found, ids,
                                                                                              strict=True)]
    ctx.record(info.field_name, sum(node is not None for node in found))
    return found


# ---------------------------------------------------------------- object fields


def _first(rows: list[Row], first: int | None) -> list[Row]:
    return rows if first is None else rows[: max(first, 0)]


def resolve_order_line_items(order: Node, _info: GraphQLResolveInfo, **args: Any) -> Node:
    row, batch = order["__row"], order["__batch"]
    currency = row["currency"]
    return child_connection(batch.line_items(row["order_id"]), "line_item_id", args,
                            lambda r: line_item_node(r, currency))


def resolve_order_transactions(order: Node, _info: GraphQLResolveInfo, first: int | None = None,
                               **_ignored: Any) -> list[Node]:
    """Order.transactions(first:); `capturable` and `manuallyResolvable` are ignored."""
    row, batch = order["__row"], order["__batch"]
    return [transaction_node(r, batch) for r in _first(batch.transactions(row["order_id"]), first)]


def resolve_order_refunds(order: Node, _info: GraphQLResolveInfo, first: int | None = None) -> list[Node]:
    row, batch = order["__row"], order["__batch"]
    return [refund_node(r, row, batch) for r in _first(batch.refunds(row["order_id"]), first)]


def resolve_order_customer(order: Node, _info: GraphQLResolveInfo) -> Node | None:
    row, batch = order["__row"], order["__batch"]
    customer = None if row["customer_id"] == NO_ID else batch.customer(row["customer_id"])
    return None if customer is None else customer_node(customer)


def _refund_transactions(refund: Node) -> list[Row]:
    return refund["__batch"].refund_transactions(refund["__order"]["order_id"], refund["__row"]["refund_id"])


def resolve_refund_total(refund: Node, _info: GraphQLResolveInfo) -> Node:
    """Refund.totalRefundedSet: the sum of the refund's successful REFUND transactions."""
    total = sum(r["amount_cents"] for r in _refund_transactions(refund)
                if r["kind"] == "REFUND" and r["status"] == "SUCCESS")
    return money_bag(total, refund["__order"]["currency"])


def resolve_refund_line_items(refund: Node, _info: GraphQLResolveInfo, **args: Any) -> Node:
    order, batch = refund["__order"], refund["__batch"]
    rows = batch.refund_line_items(refund["__row"]["refund_id"])
    return child_connection(rows, "refund_line_item_id", args, lambda r: refund_line_item_node(r, order, batch))


def resolve_refund_transactions(refund: Node, _info: GraphQLResolveInfo, **args: Any) -> Node:
    batch = refund["__batch"]
    return child_connection(_refund_transactions(refund), "transaction_id", args,
                            lambda r: transaction_node(r, batch))


def _refunded_line(item: Node) -> Row | None:
    return item["__batch"].line_item(item["__row"]["line_item_id"], item["__order"]["order_id"])


def resolve_refund_line_item_line_item(item: Node, _info: GraphQLResolveInfo) -> Node | None:
    line = _refunded_line(item)
    return None if line is None else line_item_node(line, item["__order"]["currency"])


def resolve_refund_line_item_price(item: Node, _info: GraphQLResolveInfo) -> Node | None:
    """RefundLineItem.priceSet: the refunded line item's original unit price."""
    line = _refunded_line(item)
    return None if line is None else money_bag(line["unit_price_cents"], item["__order"]["currency"])


def resolve_parent_transaction(tx: Node, _info: GraphQLResolveInfo) -> Node | None:
    row, batch = tx["__row"], tx["__batch"]
    if row["parent_transaction_id"] == NO_ID:
        return None
    parent = batch.transaction(row["parent_transaction_id"], row["order_id"])
    return None if parent is None else transaction_node(parent, batch)


CONNECTION_TYPES = ("OrderConnection", "LineItemConnection", "RefundLineItemConnection",
                    "OrderTransactionConnection")
RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    **{(name, "edges"): resolve_connection_edges for name in CONNECTION_TYPES},
    **{(name, "pageInfo"): resolve_connection_page_info for name in CONNECTION_TYPES},
    ("QueryRoot", "orders"): resolve_orders,
    ("QueryRoot", "order"): resolve_order,
    ("QueryRoot", "node"): resolve_node,
    ("QueryRoot", "nodes"): resolve_nodes,
    ("Order", "lineItems"): resolve_order_line_items,
    ("Order", "transactions"): resolve_order_transactions,
    ("Order", "refunds"): resolve_order_refunds,
    ("Order", "customer"): resolve_order_customer,
    ("Refund", "totalRefundedSet"): resolve_refund_total,
    ("Refund", "refundLineItems"): resolve_refund_line_items,
    ("Refund", "transactions"): resolve_refund_transactions,
    ("RefundLineItem", "lineItem"): resolve_refund_line_item_line_item,
    ("RefundLineItem", "priceSet"): resolve_refund_line_item_price,
    ("OrderTransaction", "parentTransaction"): resolve_parent_transaction,
}


def attach_resolvers(schema: GraphQLSchema) -> None:
    """Set `.resolve` on the served fields of the (shared) schema; idempotent."""
    for (type_name, field_name), resolver in RESOLVERS.items():
        type_ = schema.get_type(type_name)
        if not isinstance(type_, GraphQLObjectType) or field_name not in type_.fields:
            raise RuntimeError(f"schema has no field {type_name}.{field_name}")
        type_.fields[field_name].resolve = resolver


def order_search_fields(schema: GraphQLSchema) -> frozenset[str]:
    """Search field names Shopify documents for `orders(query:)`, read from the schema description."""
    query_type = schema.query_type
    if query_type is None:
        return frozenset()
    return search_fields_from_description(query_type.fields["orders"].args["query"].description)
