"""Resolvers for the Shopify objects of `shopify_catalog`: fulfillments, locations, products and variants.

Attached next to `shopify_resolvers` (same conventions: plain dict objects keyed by schema field names,
internal keys starting with `__`, one bulk lookup per page through the page's `OrderBatch`).

Served:
- `Order.fulfillments(first)` (list, ascending id; `query` is refused when given): Fulfillment id, name
  (`#1001.1`, `#1001.2` … in creation order), createdAt, updatedAt (= createdAt: the world's fulfillments never
  change), status, totalQuantity, order, location, trackingInfo(first) (number, company = the carrier slug,
  url = the carrier's public tracking page), fulfillmentLineItems (connection: id, quantity, lineItem,
  originalTotalSet, discountedTotalSet and their deprecated Money twins). deliveredAt, inTransitAt,
  displayStatus are null (AfterShip carries the parcel's journey).
- `locations(first, after, last, before, reverse, sortKey: NAME (default) | ID, includeInactive,
  includeLegacy)` and `location(id:)`: Location id, legacyResourceId, name, isActive, fulfillsOnlineOrders,
  shipsInventory (true), isFulfillmentService (false), createdAt, updatedAt, address {countryCode, country,
  formatted}. `query` is refused.
- `productVariants(first, after, …, query, sortKey: ID)` and `products(…)` with `query` on `id`,
  `created_at`, `updated_at`; `productVariant(id:)`, `product(id:)`. ProductVariant id, sku, price, title
  (`Default Title`), displayName, createdAt, updatedAt, product; Product id, title, handle, vendor (the
  brand), productType (""), status (ACTIVE), createdAt, updatedAt, variants (connection).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema

from sandbox.emulators.shopify_catalog import country, tracking_url
from sandbox.emulators.shopify_paging import paginate
from sandbox.emulators.shopify_resolvers import (
    Node,
    OrderBatch,
    RequestContext,
    amount,
    child_connection,
    connection,
    gid,
    line_item_node,
    money_bag,
    order_node,
    page_request,
    parse_gid,
    resolve_connection_edges,
    resolve_connection_page_info,
)
from sandbox.emulators.shopify_search import SearchError, parse_search, search_fields_from_description
from sandbox.emulators.shopify_world import Row, SortIndex, Table, iso

LOCATION_SORT_KEYS = frozenset({"NAME", "ID"})
VARIANT_SEARCH_COLUMNS = {"id": "variant_id", "created_at": "created_at", "updated_at": "updated_at"}
PRODUCT_SEARCH_COLUMNS = {"id": "product_id", "created_at": "created_at", "updated_at": "updated_at"}


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context


# ---------------------------------------------------------------- fulfillments


def _fulfillments(batch: OrderBatch, order_id: int) -> list[Row]:
    by_order = batch._load("fulfillments", lambda: batch.world.fulfillments.rows_by_parent(
        "order_id", [row["order_id"] for row in batch.orders]))
    return by_order.get(order_id, [])


def _fulfillment_lines(batch: OrderBatch, fulfillment_id: int) -> list[Row]:
    def load() -> dict[int, list[Row]]:
        ids = [f["fulfillment_id"] for order in batch.orders for f in _fulfillments(batch, order["order_id"])]
        return batch.world.fulfillment_line_items.rows_by_parent("fulfillment_id", ids)

    return batch._load("fulfillment_line_items", load).get(fulfillment_id, [])


def fulfillment_node(row: Row, number: int, order: Row, batch: OrderBatch) -> Node:
    return {
        "__typename": "Fulfillment",
        "__row": row,
        "__order": order,
        "__batch": batch,
        "id": gid("Fulfillment", row["fulfillment_id"]),
        "name": f"{order['name']}.{number}",
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["created_at"]),
        "status": row["status"],
        "totalQuantity": sum(line["quantity"] for line in _fulfillment_lines(batch, row["fulfillment_id"])),
    }


def resolve_order_fulfillments(order: Node, _info: GraphQLResolveInfo, first: int | None = None,
                               query: str | None = None) -> list[Node]:
    """Order.fulfillments(first:), ascending id (= creation order)."""
    if query:
        raise GraphQLError("emulator: Order.fulfillments(query:) is not supported")
    row, batch = order["__row"], order["__batch"]
    rows = _fulfillments(batch, row["order_id"])
    nodes = [fulfillment_node(r, i + 1, row, batch) for i, r in enumerate(rows)]
    return nodes if first is None else nodes[: max(first, 0)]


def resolve_fulfillment_order(fulfillment: Node, _info: GraphQLResolveInfo) -> Node:
    return order_node(fulfillment["__order"], fulfillment["__batch"])


def resolve_fulfillment_location(fulfillment: Node, info: GraphQLResolveInfo) -> Node | None:
    row = _ctx(info).world.locations.rows_by_id([fulfillment["__row"]["location_id"]])
    found = row.get(fulfillment["__row"]["location_id"])
    return None if found is None else location_node(found)


def resolve_fulfillment_tracking_info(fulfillment: Node, _info: GraphQLResolveInfo,
                                      first: int | None = None) -> list[Node]:
    row = fulfillment["__row"]
    if not row["tracking_number"] and not row["tracking_company"]:
        return []
    info = [{"number": row["tracking_number"], "company": row["tracking_company"],
             "url": tracking_url(row["tracking_company"], row["tracking_number"])}]
    return info if first is None else info[: max(first, 0)]


def fulfillment_line_node(row: Row, fulfillment: Node) -> Node:
    order, batch = fulfillment["__order"], fulfillment["__batch"]
    line = batch.line_item(row["line_item_id"], order["order_id"])
    currency = order["currency"]
    original = 0 if line is None else line["unit_price_cents"] * row["quantity"]
    # a line is never split over fulfillments, so the line's whole discount belongs to this one
    discounted = original if line is None else original - line["discount_cents"]
    return {
        "__typename": "FulfillmentLineItem",
        "id": gid("FulfillmentLineItem", row["fulfillment_line_item_id"]),
        "quantity": row["quantity"],
        "lineItem": None if line is None else line_item_node(line, currency),
        "originalTotalSet": money_bag(original, currency),
        "originalTotal": amount(original),
        "discountedTotalSet": money_bag(discounted, currency),
        "discountedTotal": amount(discounted),
    }


def resolve_fulfillment_line_items(fulfillment: Node, _info: GraphQLResolveInfo, **args: Any) -> Node:
    rows = _fulfillment_lines(fulfillment["__batch"], fulfillment["__row"]["fulfillment_id"])
    return child_connection(rows, "fulfillment_line_item_id", args, lambda r: fulfillment_line_node(r, fulfillment))


# ---------------------------------------------------------------- locations


def location_node(row: Row) -> Node:
    code, name = country(row["country_code"])
    return {
        "__typename": "Location",
        "id": gid("Location", row["location_id"]),
        "legacyResourceId": str(row["location_id"]),
        "name": row["name"],
        "isActive": True,
        "fulfillsOnlineOrders": True,
        "shipsInventory": True,
        "isFulfillmentService": False,
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["created_at"]),
        "address": {"countryCode": code, "country": name, "formatted": [v for v in (row["name"], name) if v]},
    }


def _store_locations(ctx: RequestContext) -> list[Row]:
    ids = ctx.world.store_locations.get(ctx.store.store_id, [])
    by_id = ctx.world.locations.rows_by_id(ids)
    return [by_id[i] for i in ids if i in by_id]


def resolve_locations(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    """QueryRoot.locations: the shop's locations (all active), by name (default) or id."""
    ctx = _ctx(info)
    if args.get("query"):
        raise GraphQLError("emulator: locations(query:) is not supported")
    sort_key = args.get("sortKey") or "NAME"
    if sort_key not in LOCATION_SORT_KEYS:
        raise GraphQLError(f"emulator: sortKey {sort_key} is not supported (use NAME or ID)")
    rows = _store_locations(ctx)
    if sort_key == "NAME":
        rows = sorted(rows, key=lambda r: (r["name"], r["location_id"]))
    # the sort value is the row's rank (unique), so cursors stay valid for either key
    index = SortIndex(values=list(range(len(rows))), ids=[r["location_id"] for r in rows],
                      positions=range(len(rows)))
    page = paginate(index, page_request(args, time_valued=False))
    nodes = [location_node(rows[i]) for i in page.indices]
    ctx.record(info.field_name, len(nodes))
    return connection(index, page, nodes, time_valued=False)


def resolve_location(_root: Any, info: GraphQLResolveInfo, id: str | None = None) -> Node | None:  # noqa: A002
    ctx = _ctx(info)
    if id is None:
        return None
    type_name, id_ = parse_gid(id)
    found = [r for r in _store_locations(ctx) if r["location_id"] == id_] if type_name == "Location" else []
    ctx.record(info.field_name, len(found))
    return location_node(found[0]) if found else None


# ---------------------------------------------------------------- products and variants


def _handle(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def product_node(row: Row, variants: Table) -> Node:
    return {
        "__typename": "Product",
        "__row": row,
        "__variants": variants,
        "id": gid("Product", row["product_id"]),
        "title": row["product_title"],
        "handle": _handle(row["product_title"]),
        "vendor": row["vendor"],
        "productType": "",
        "status": "ACTIVE",
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


def variant_node(row: Row, variants: Table) -> Node:
    return {
        "__typename": "ProductVariant",
        "__row": row,
        "__variants": variants,
        "id": gid("ProductVariant", row["variant_id"]),
        "sku": row["sku"],
        "price": amount(row["price_cents"]),
        "title": "Default Title",
        "displayName": f"{row['product_title']} - Default Title",
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


def _filtered(ctx: RequestContext, info: GraphQLResolveInfo, table: Table, columns: dict[str, str],
              args: dict[str, Any]) -> np.ndarray:
    """Row positions of `table` (ascending id) matching the `query` argument (id and time fields only)."""
    if (args.get("sortKey") or "ID") != "ID":
        raise GraphQLError(f"emulator: sortKey {args['sortKey']} is not supported (use ID)")
    known = search_fields_from_description(info.parent_type.fields[info.field_name].args["query"].description)
    try:
        search = parse_search(args.get("query"), tz=ctx.store.tz, now=ctx.world.as_of, known_fields=known)
    except SearchError as exc:
        raise GraphQLError(str(exc)) from exc
    if search.warnings:
        ctx.search_notes.append({"path": [info.field_name], "query": args.get("query"), "warnings": search.warnings})
    mask = np.ones(len(table), dtype=bool)
    for name, rng in search.ranges.items():
        if name not in columns:
            raise GraphQLError(f"emulator: search field {name!r} is not supported here")
        values = table.cols[columns[name]]
        if rng.low is not None:
            mask &= values >= rng.low
        if rng.high is not None:
            mask &= values <= rng.high
    return np.flatnonzero(mask)


def resolve_product_variants(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    """QueryRoot.productVariants: the shop's variants by id, filtered by `query` (id, created_at, updated_at)."""
    ctx = _ctx(info)
    table = ctx.world.variants[ctx.store.store_id]
    rows = table.rows(_filtered(ctx, info, table, VARIANT_SEARCH_COLUMNS, args))
    conn = child_connection(rows, "variant_id", args, lambda r: variant_node(r, table))
    ctx.record(info.field_name, len(conn["nodes"]))
    return conn


def resolve_products(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    """QueryRoot.products: one product per SKU of the shop's brand (see `shopify_catalog`)."""
    ctx = _ctx(info)
    table = ctx.world.variants[ctx.store.store_id]
    positions = _filtered(ctx, info, table, PRODUCT_SEARCH_COLUMNS, args)
    rows = sorted(table.rows(positions), key=lambda r: r["product_id"])
    conn = child_connection(rows, "product_id", args, lambda r: product_node(r, table))
    ctx.record(info.field_name, len(conn["nodes"]))
    return conn


def _by_gid(info: GraphQLResolveInfo, value: str, type_name: str, id_col: str) -> Row | None:
    ctx = _ctx(info)
    kind, id_ = parse_gid(value)
    table = ctx.world.variants[ctx.store.store_id]
    found = [] if kind != type_name else [r for r in table.rows(np.flatnonzero(table.cols[id_col] == id_))]
    ctx.record(info.field_name, len(found[:1]))
    return found[0] if found else None


def resolve_product_variant(_root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:  # noqa: A002
    row = _by_gid(info, id, "ProductVariant", "variant_id")
    return None if row is None else variant_node(row, _ctx(info).world.variants[_ctx(info).store.store_id])


def resolve_product(_root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:  # noqa: A002
    row = _by_gid(info, id, "Product", "product_id")
    return None if row is None else product_node(row, _ctx(info).world.variants[_ctx(info).store.store_id])


def resolve_variant_product(variant: Node, _info: GraphQLResolveInfo) -> Node:
    return product_node(variant["__row"], variant["__variants"])


def resolve_product_variants_of(product: Node, _info: GraphQLResolveInfo, **args: Any) -> Node:
    if (args.get("sortKey") or "POSITION") not in ("POSITION", "ID"):
        raise GraphQLError(f"emulator: sortKey {args['sortKey']} is not supported (use POSITION or ID)")
    variants: Table = product["__variants"]
    rows = variants.rows_by_parent("product_id", [product["__row"]["product_id"]]).get(
        product["__row"]["product_id"], [])
    return child_connection(rows, "variant_id", args, lambda r: variant_node(r, variants))


CONNECTION_TYPES = ("FulfillmentLineItemConnection", "LocationConnection", "ProductVariantConnection",
                    "ProductConnection")
RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    **{(name, "edges"): resolve_connection_edges for name in CONNECTION_TYPES},
    **{(name, "pageInfo"): resolve_connection_page_info for name in CONNECTION_TYPES},
    ("Order", "fulfillments"): resolve_order_fulfillments,
    ("Fulfillment", "order"): resolve_fulfillment_order,
    ("Fulfillment", "location"): resolve_fulfillment_location,
    ("Fulfillment", "trackingInfo"): resolve_fulfillment_tracking_info,
    ("Fulfillment", "fulfillmentLineItems"): resolve_fulfillment_line_items,
    ("QueryRoot", "locations"): resolve_locations,
    ("QueryRoot", "location"): resolve_location,
    ("QueryRoot", "productVariants"): resolve_product_variants,
    ("QueryRoot", "productVariant"): resolve_product_variant,
    ("QueryRoot", "products"): resolve_products,
    ("QueryRoot", "product"): resolve_product,
    ("ProductVariant", "product"): resolve_variant_product,
    ("Product", "variants"): resolve_product_variants_of,
}


def attach_object_resolvers(schema: GraphQLSchema) -> None:
    """Set `.resolve` on the fields served here (idempotent, like `shopify_resolvers.attach_resolvers`)."""
    for (type_name, field_name), resolver in RESOLVERS.items():
        type_ = schema.get_type(type_name)
        if not isinstance(type_, GraphQLObjectType) or field_name not in type_.fields:
            raise RuntimeError(f"schema has no field {type_name}.{field_name}")
        type_.fields[field_name].resolve = resolver
