"""Shopify Admin GraphQL emulator (loopback HTTP) serving the sandbox world of sandbox/WORLD.md.

Endpoint: `POST /shops/{shop}/admin/api/{version}/graphql.json` with header `X-Shopify-Access-Token` and a JSON
body `{query, variables, operationName}` (a raw `application/graphql` body is accepted too). Versions 2026-01,
2026-04, 2026-07 and 2026-10 are accepted and all served with the vendored 2026-07 schema; any other version,
or an unknown shop, gives 404 `{"errors":"Not Found"}`; a wrong token gives 401 with Shopify's body; a body
without a query gives 400 `{"errors":{"query":"Required parameter missing or invalid"}}`.

Documents are parsed and validated against the real schema (cached per query text), so an unknown field gives
Shopify's kind of error with HTTP 200 (see `shopify_errors`). Mutations are refused with a GraphQL error.
Execution is graphql-core's with the fast paths of `fast_execution`; each Order, once completed for a selection
set, is kept as a JSON fragment for the world's lifetime (`FragmentCache`), so repeated walks are cheap.

Served (for the store named by `{shop}` only, and only what exists at the clock `meta.as_of`, as defined by
`sandbox.world.world_at`; the world is re-read when meta.json changes):
- QueryRoot: `orders(first, after, last, before, query, sortKey, reverse)`, `order(id:)`, `node(id:)` and
  `nodes(ids:)` (Orders only; other GIDs resolve to null). `savedSearchId` is ignored.
  `sortKey`: ID, CREATED_AT, UPDATED_AT, PROCESSED_AT, ORDER_NUMBER (ties broken by id); other keys give an
  error. The default is the schema's: PROCESSED_AT. `query`: see `shopify_search` (time fields and `id`).
- Order: id, name, createdAt, updatedAt, processedAt, cancelledAt, cancelReason, tags, note, email,
  currencyCode, test, totalShippingPriceSet, customer, lineItems (connection), transactions(first) (list;
  `capturable`/`manuallyResolvable` ignored), refunds(first) (list).
- Customer: id, email, firstName, lastName.
- LineItem: id, sku, title, name (= title), quantity, originalUnitPriceSet, totalDiscountSet.
- OrderTransaction: id, kind, status, gateway, amountSet, createdAt, processedAt, parentTransaction, paymentId,
  errorCode.
- Refund: id, createdAt, updatedAt, note, totalRefundedSet (sum of its successful REFUND transactions),
  refundLineItems (connection), transactions (connection).
- RefundLineItem: id, lineItem, quantity, restockType, restocked (always false), subtotalSet, priceSet (the line
  item's original unit price).
- MoneyBag: shopMoney and presentmentMoney, both in the order currency; MoneyV2: amount ("12.30"), currencyCode.
- Connections: edges { cursor node }, nodes, pageInfo { hasNextPage hasPreviousPage startCursor endCursor }.
  `first` or `last` is required and at most 250; cursors are opaque (see `shopify_paging`).
- Returns (`Order.returns`, `Order.returnStatus`), replacement orders (ordinary orders), `Refund.staffMember`,
  store credit (`Customer.storeCreditAccounts`, `storeCreditAccount(id:)`, `Customer.events` comments) and
  Customers in `nodes(ids:)`: see `shopify_leaks`.
- Fulfillments (`Order.fulfillments`), locations, products and product variants: see
  `shopify_object_resolvers` (derived from the world by `shopify_catalog`; a fulfillment bumps its order's
  `updatedAt`, as in Shopify).
Every other field of the real schema resolves to null when nullable and to a GraphQL error ("Cannot return null
for non-nullable field ...") when not. Not emulated: the 60-day order window of apps without `read_all_orders`,
REST endpoints.

Query cost and throttling: every answer carries `extensions.cost`; over-limit queries get MAX_COST_EXCEEDED and a
drained shop bucket THROTTLED (see `shopify_cost`). Bulk operations (`bulkOperationRunQuery`, the only mutation
served, `currentBulkOperation`, `bulkOperation`, `node` of a BulkOperation, the JSONL file): see `shopify_bulk`.

Also: `GET /__stats` (shared counters, `sandbox.emulators.stats`: per root field and per store), `POST /__stats`
and the fault injection of `sandbox.emulators.faults` (`/__control`; off by default).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import graphql
import orjson
from graphql import GraphQLError, OperationType
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.emulators.fast_execution import FastExecutionContext, FragmentCache
from sandbox.emulators.faults import install as install_faults
from sandbox.emulators.shopify_bulk import (
    BULK_PATH,
    BulkContext,
    BulkOperations,
    BulkTimings,
    attach_bulk_resolvers,
    only_bulk_mutations,
)
from sandbox.emulators.shopify_cost import STANDARD_BUCKET_SIZE, STANDARD_RESTORE_RATE, QueryCostLimiter
from sandbox.emulators.shopify_errors import execution_error, syntax_error, validation_error
from sandbox.emulators.shopify_leaks import attach_leak_resolvers
from sandbox.emulators.shopify_object_resolvers import attach_object_resolvers
from sandbox.emulators.shopify_resolvers import RequestContext, attach_resolvers, order_search_fields
from sandbox.emulators.shopify_schema import shopify_schema
from sandbox.emulators.shopify_world import ShopifyWorld
from sandbox.emulators.stats import Stats
from sandbox.emulators.world_cache import WorldCache

API_VERSIONS = frozenset({"2026-01", "2026-04", "2026-07", "2026-10"})
GRAPHQL_PATH = "/shops/{shop}/admin/api/{version}/graphql.json"
NOT_FOUND = {"errors": "Not Found"}
UNAUTHORIZED = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
MISSING_QUERY = {"errors": {"query": "Required parameter missing or invalid"}}
MUTATIONS_UNSUPPORTED = "emulator: mutations are not supported"
COST_LIMITS_ENV = "LEAKWATCH_SHOPIFY_COST_LIMITS"


@lru_cache(maxsize=1)
def served_schema() -> tuple[graphql.GraphQLSchema, frozenset[str]]:
    """The shared schema with resolvers attached, and the orders search fields it documents."""
    schema = shopify_schema()
    attach_resolvers(schema)
    attach_object_resolvers(schema)
    attach_leak_resolvers(schema)
    attach_bulk_resolvers(schema)
    return schema, order_search_fields(schema)


@dataclass(frozen=True)
class Prepared:
    """A parsed and validated document, or the errors to answer instead."""

    document: graphql.DocumentNode | None
    errors: tuple[dict[str, Any], ...] = ()


@lru_cache(maxsize=512)
def prepare(query: str) -> Prepared:
    """Parse and validate a query text against the real schema (cached: clients repeat their queries)."""
    schema, _ = served_schema()
    try:
        document = graphql.parse(query)
    except GraphQLError as exc:
        return Prepared(None, (syntax_error(exc),))
    errors = graphql.validate(schema, document)
    if errors:
        return Prepared(None, tuple(validation_error(e) for e in errors))
    return Prepared(document)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _never_awaitable(_value: Any) -> bool:
    return False


def _read_request(raw: bytes, content_type: str) -> tuple[str | None, dict[str, Any] | None, str | None]:
    """(query, variables, operationName) of a request body; query None when missing or unreadable."""
    if content_type.startswith("application/graphql"):
        return raw.decode("utf-8", errors="replace") or None, None, None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, None, None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"].strip():
        return None, None, None
    variables = body.get("variables")
    operation = body.get("operationName")
    return (body["query"], variables if isinstance(variables, dict) else None,
            operation if isinstance(operation, str) else None)


def _is_mutation(document: graphql.DocumentNode, operation_name: str | None) -> bool:
    operation = graphql.get_operation_ast(document, operation_name)
    return operation is not None and operation.operation == OperationType.MUTATION


def execute(ctx: RequestContext, query: str, variables: dict[str, Any] | None, operation_name: str | None,
            context_class: type[FastExecutionContext] = FastExecutionContext) -> dict[str, Any]:
    """Run one GraphQL request (for the store in `ctx`) and return the response body (serialize it with orjson:
    with a `FragmentCache` context class it holds pre-rendered JSON fragments)."""
    prepared = prepare(query)
    if prepared.document is None:
        return {"errors": list(prepared.errors)}
    if _is_mutation(prepared.document, operation_name) and not only_bulk_mutations(prepared.document,
                                                                                   operation_name):
        return {"errors": [{"message": MUTATIONS_UNSUPPORTED}]}
    schema, _ = served_schema()
    result = graphql.execute(schema, prepared.document, root_value={}, context_value=ctx,
                             variable_values=variables, operation_name=operation_name,
                             is_awaitable=_never_awaitable,
                             execution_context_class=context_class)
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [execution_error(e) for e in result.errors]
    body["data"] = result.data
    if ctx.search_notes:
        body["extensions"] = {"search": ctx.search_notes}
    return body


def create_app(world_dir: Path, bucket_size: float | None = None,
               restore_rate: float | None = None, bulk_timings: BulkTimings | None = None,
               clock: Callable[[], float] = time.monotonic, cost_limits: bool | None = None) -> Starlette:
    """The emulator app for the world in `world_dir` (loaded now; re-read when meta.json changes).

    Each shop's query-cost bucket follows its plan in the world (`stores.shopify_plan`, `shopify_cost.PLAN_LIMITS`);
    `bucket_size`/`restore_rate` set one bucket for every shop instead (tests of throttling),
    `bulk_timings` how long bulk operations stay CREATED and RUNNING (`shopify_bulk`); `clock` drives the buckets.
    `cost_limits=False` (or env `LEAKWATCH_SHOPIFY_COST_LIMITS=off` when not given) still reports every cost but
    refuses nothing (for tests of shapes that send queries Shopify would call too costly).
    """
    cache = WorldCache(Path(world_dir), ShopifyWorld.load)
    cache.get()
    served_schema()
    stats = Stats()
    rendered: dict[str, Any] = {"world": None, "context_class": FastExecutionContext}

    def context_class(world: ShopifyWorld) -> type[FastExecutionContext]:
        """The execution context with the completed-objects cache of this world (a new one when it reloads)."""
        if rendered["world"] is not world:
            rendered.update(world=world, context_class=FragmentCache().context_class())
        return rendered["context_class"]

    if cost_limits is None:
        cost_limits = os.environ.get(COST_LIMITS_ENV, "on").lower() not in {"off", "0", "false"}
    fixed = bucket_size is not None or restore_rate is not None
    limiter = QueryCostLimiter(bucket_size or STANDARD_BUCKET_SIZE, restore_rate or STANDARD_RESTORE_RATE,
                               clock=clock, enforce=cost_limits,
                               plans=None if fixed else (lambda store_id: cache.get().plans.get(store_id)))
    bulk = BulkOperations(lambda: served_schema()[0], bulk_timings)

    async def graphql_endpoint(request: Request) -> Response:
        world = cache.get()
        store = world.stores.get(request.path_params["shop"])
        if store is None or request.path_params["version"] not in API_VERSIONS:
            stats.record_response(404)
            return _json(NOT_FOUND, 404)
        if request.headers.get("x-shopify-access-token") != store.access_token:
            stats.record_response(401)
            return _json(UNAUTHORIZED, 401)
        query, variables, operation = _read_request(await request.body(), request.headers.get("content-type", ""))
        if query is None:
            stats.record_response(400, store.store_id)
            return _json(MISSING_QUERY, 400)
        ctx = BulkContext(
            world=world,
            store=store,
            record=lambda name, n: stats.record_field(store.store_id, name, n),
            order_search_fields=served_schema()[1],
            bulk=bulk,
            base_url=str(request.base_url),
        )
        body = limiter.run(store.store_id, served_schema()[0], query, prepare(query).document, variables, operation,
                           lambda: execute(ctx, query, variables, operation, context_class(world)))
        stats.record_response(200, store.store_id)
        return _json(body, headers={"X-Shopify-API-Version": request.path_params["version"]})

    async def bulk_result(request: Request) -> Response:
        store = cache.get().stores.get(request.path_params["shop"])
        payload = None if store is None else bulk.payload(store.shop, request.path_params["op_id"])
        if payload is None:
            return _json(NOT_FOUND, 404)
        return Response(payload, media_type="application/jsonl")

    app = Starlette(routes=[
        Route(GRAPHQL_PATH, graphql_endpoint, methods=["POST"]),
        Route(BULK_PATH.replace("{op_id}", "{op_id:int}"), bulk_result, methods=["GET"]),
    ])
    app.state.world_cache = cache
    app.state.stats = stats
    app.state.cost_limiter = limiter
    app.state.bulk_operations = bulk
    install_faults(app, "shopify", Path(world_dir), stats)
    return app
