"""Calculated query cost and the per-shop leaky bucket of the Shopify Admin GraphQL API, as Shopify documents them.

Cost (shopify.dev "GraphQL Admin API rate limits", static analysis before execution):
- scalar and enum fields cost 0; an object field costs 1 plus its selection;
- an interface or union field costs 1 plus the most expensive selection over the object types it can be;
- a connection costs 2 plus `first` (or `last`) times the cost of one node (1 plus the node's selection,
  from `nodes { … }` or `edges { node { … } }`); `pageInfo` and `edges`/`cursor` themselves are free;
- a list of objects costs its size times one item: the size is `first`/`last`, else the length of a list
  argument (`nodes(ids:)`), else 1 (emulator reading: Shopify's table does not price plain lists);
- every mutation root field costs 10, its payload nothing.
The actual cost walks the same selection over the returned data: connections and lists are charged for the
items returned, a null object for itself only.

Leaky bucket (one per shop: the emulator has one app per shop): `maximumAvailable` points, refilled
continuously at `restoreRate` points a second. A query whose requested cost is above the single-query limit
(1,000 on every plan) is refused with MAX_COST_EXCEEDED; one the bucket cannot pay now is refused with
THROTTLED (HTTP 200, nothing charged); otherwise the requested cost is taken before execution and the
difference to the actual cost handed back after it. Each shop's bucket follows its plan (`PLAN_LIMITS`: the
world's `stores.shopify_plan`; standard, bucket 2,000 and 100 points/second, when absent);
`create_app(..., bucket_size=, restore_rate=)` sets one bucket for every shop instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import graphql
import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values, get_variable_values

SINGLE_QUERY_MAX_COST = 1000
STANDARD_BUCKET_SIZE = 2000.0
STANDARD_RESTORE_RATE = 100.0
# bucket size and restore rate (points/second) of each plan: shopify.dev lists the restore rates (100, 200, 1,000,
# 2,000); the bucket holds 20 seconds of them on every plan
PLAN_LIMITS: dict[str, tuple[float, float]] = {
    "standard": (STANDARD_BUCKET_SIZE, STANDARD_RESTORE_RATE),
    "advanced": (4000.0, 200.0),
    "plus": (20000.0, 1000.0),
    "enterprise": (40000.0, 2000.0),
}
MUTATION_COST = 10
CONNECTION_COST = 2
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
MAX_COST_MESSAGE = (
    "Query cost is {cost}, which exceeds the single query max cost limit ({max}).\n\n"
    "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
    "cost of a query is calculated.\n\n"
    "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
    "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
)


def _is_connection(type_: Any) -> bool:
    return (isinstance(type_, GraphQLObjectType) and type_.name.endswith("Connection")
            and "pageInfo" in type_.fields and ("nodes" in type_.fields or "edges" in type_.fields))


def _is_list(type_: Any) -> bool:
    return isinstance(get_nullable_type(type_), GraphQLList)


class _Coster:
    """Cost of one operation: requested (data=None) or actual (walking the response data)."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def _sub_fields(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> dict[str, list[FieldNode]]:
        return collect_sub_fields(self.schema, self.fragments, self.variables, type_, nodes)

    def _args(self, parent: GraphQLObjectType, node: FieldNode) -> dict[str, Any]:
        try:
            return get_argument_values(parent.fields[node.name.value], node, self.variables)
        except GraphQLError:
            return {}

    def selection(self, type_: GraphQLObjectType, fields: dict[str, list[FieldNode]], data: Any,
                  actual: bool) -> int:
        total = 0
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name.startswith("__"):
                continue
            if actual and (not isinstance(data, dict) or key not in data):
                continue
            total += self.field(type_, nodes, data[key] if actual else None, actual)
        return total

    def _object(self, type_: Any, nodes: list[FieldNode], data: Any, actual: bool) -> int:
        """1 for the object plus its selection (max over possible types when abstract)."""
        if actual and data is None:
            return 1
        if is_abstract_type(type_):
            candidates = self.schema.get_possible_types(type_)
            return 1 + max((self.selection(c, self._sub_fields(c, nodes), data, actual) for c in candidates),
                           default=0)
        return 1 + self.selection(type_, self._sub_fields(type_, nodes), data, actual)

    def _size(self, args: dict[str, Any]) -> int:
        for name in ("first", "last"):
            if isinstance(args.get(name), int):
                return max(args[name], 0)
        for value in args.values():
            if isinstance(value, list):
                return len(value)
        return 1

    def _connection(self, conn_type: GraphQLObjectType, nodes: list[FieldNode], size: int, data: Any,
                    actual: bool) -> int:
        if actual and data is None:
            return 0
        sub = self._sub_fields(conn_type, nodes)
        node_type = get_named_type(conn_type.fields["nodes"].type) if "nodes" in conn_type.fields else None
        item_nodes: list[FieldNode] = list(sub.get("nodes", ()))
        items: list[Any] = []
        edge_type = get_named_type(conn_type.fields["edges"].type) if "edges" in conn_type.fields else None
        for key, fnodes in sub.items():
            if fnodes[0].name.value == "nodes" and actual:
                items = data.get(key) or []
            if fnodes[0].name.value == "edges" and isinstance(edge_type, GraphQLObjectType):
                edge_sub = self._sub_fields(edge_type, fnodes)
                node_type = get_named_type(edge_type.fields["node"].type)
                for ekey, enodes in edge_sub.items():
                    if enodes[0].name.value == "node":
                        item_nodes.extend(enodes)
                        if actual and not items:
                            items = [edge.get(ekey) for edge in data.get(key) or []]
        if node_type is None:
            return CONNECTION_COST
        if actual:
            return CONNECTION_COST + sum(self._object(node_type, item_nodes, item, True) for item in items)
        return CONNECTION_COST + size * self._object(node_type, item_nodes, None, False)

    def field(self, parent: GraphQLObjectType, nodes: list[FieldNode], data: Any, actual: bool) -> int:
        field_def = parent.fields.get(nodes[0].name.value)
        if field_def is None:
            return 0
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return 0
        if _is_connection(named):
            return self._connection(named, nodes, self._size(self._args(parent, nodes[0])), data, actual)
        if _is_list(field_def.type):
            if actual:
                return sum(self._object(named, nodes, item, True) for item in data or [])
            return self._size(self._args(parent, nodes[0])) * self._object(named, nodes, None, False)
        return self._object(named, nodes, data, actual)


@dataclass(frozen=True)
class Operation:
    """What the cost of one request needs: the operation, its root type, fragments and coerced variables."""

    root: GraphQLObjectType
    mutation: bool
    fields: dict[str, list[FieldNode]]
    coster: _Coster


def _operation(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None,
               operation_name: str | None) -> Operation | None:
    operation = graphql.get_operation_ast(document, operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):  # bad variables: execution reports them
        return None
    mutation = operation.operation == OperationType.MUTATION
    root = schema.mutation_type if mutation else schema.query_type
    if root is None:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    coster = _Coster(schema, fragments, coerced)
    fields = collect_fields(schema, fragments, coerced, root, operation.selection_set)
    return Operation(root, mutation, fields, coster)


def _plain(data: Any) -> Any:
    """The response data as plain JSON values: it may hold pre-rendered `orjson.Fragment`s
    (fast_execution.FragmentCache), which the actual-cost walk cannot look into."""
    return orjson.loads(orjson.dumps(data))


def _cost(op: Operation, data: Any, actual: bool) -> int:
    if op.mutation:
        return MUTATION_COST * len([k for k, n in op.fields.items() if not n[0].name.value.startswith("__")])
    return op.coster.selection(op.root, op.fields, data, actual)


def requested_cost(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None = None,
                   operation_name: str | None = None) -> int | None:
    """The cost Shopify computes before running the request (None when the operation cannot be costed)."""
    op = _operation(schema, document, variables, operation_name)
    return None if op is None else _cost(op, None, False)


def actual_cost(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None,
                operation_name: str | None, data: Any) -> int | None:
    """The cost of what the request returned (`data` of the response)."""
    op = _operation(schema, document, variables, operation_name)
    if op is None:
        return None
    if data is None:
        return 0
    return _cost(op, data, True)


# ---------------------------------------------------------------- the leaky bucket


class LeakyBucket:
    """Shopify's throttle for one shop: `size` points, refilled at `restore_rate` points a second."""

    def __init__(self, size: float, restore_rate: float, clock: Callable[[], float]) -> None:
        self.size = float(size)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._available = float(size)
        self._at = clock()

    def available(self) -> float:
        now = self._clock()
        self._available = min(self.size, self._available + (now - self._at) * self.restore_rate)
        self._at = now
        return self._available

    def take(self, points: float) -> bool:
        if self.available() < points:
            return False
        self._available -= points
        return True

    def give(self, points: float) -> None:
        self._available = min(self.size, self.available() + points)

    def status(self) -> dict[str, float]:
        return {"maximumAvailable": self.size, "currentlyAvailable": float(int(self.available())),
                "restoreRate": self.restore_rate}


class QueryCostLimiter:
    """Per-shop buckets plus the single-query limit, wrapped around the executor of one request."""

    def __init__(self, bucket_size: float = STANDARD_BUCKET_SIZE, restore_rate: float = STANDARD_RESTORE_RATE,
                 max_query_cost: int = SINGLE_QUERY_MAX_COST, clock: Callable[[], float] = time.monotonic,
                 enforce: bool = True, plans: Callable[[str], str | None] | None = None) -> None:
        if bucket_size <= 0 or restore_rate <= 0:
            raise ValueError("bucket_size and restore_rate must be positive")
        self.bucket_size = bucket_size
        self.restore_rate = restore_rate
        self.plans = plans  # shop -> its plan (PLAN_LIMITS key); None: every shop gets bucket_size/restore_rate
        self.max_query_cost = max_query_cost
        self.enforce = enforce  # False: costs are reported, nothing is refused or charged
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, LeakyBucket] = {}
        self._requested: dict[tuple[str, bytes, str | None], int | None] = {}
        self.throttled: dict[str, int] = {}  # THROTTLED answers per shop (for tests and /__stats readers)

    def bucket(self, shop: str) -> LeakyBucket:
        with self._lock:
            if shop not in self._buckets:
                size, rate = self.bucket_size, self.restore_rate
                plan = self.plans(shop) if self.plans is not None else None
                if plan is not None:
                    if plan not in PLAN_LIMITS:
                        raise ValueError(f"unknown Shopify plan {plan!r} for shop {shop!r}: "
                                         f"one of {sorted(PLAN_LIMITS)}")
                    size, rate = PLAN_LIMITS[plan]
                self._buckets[shop] = LeakyBucket(size, rate, self._clock)
            return self._buckets[shop]

    def requested(self, schema: GraphQLSchema, query: str, document: DocumentNode, variables: dict[str, Any] | None,
                  operation_name: str | None) -> int | None:
        """`requested_cost`, remembered per (query text, variables): clients repeat their queries."""
        try:
            key = (query, orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS), operation_name)
        except TypeError:
            return requested_cost(schema, document, variables, operation_name)
        if key not in self._requested:
            if len(self._requested) > 1024:
                self._requested.clear()
            self._requested[key] = requested_cost(schema, document, variables, operation_name)
        return self._requested[key]

    def run(self, shop: str, schema: GraphQLSchema, query: str, document: DocumentNode | None,
            variables: dict[str, Any] | None, operation_name: str | None,
            execute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Cost, admit or refuse, execute, refund; the response body with `extensions.cost`."""
        requested = None if document is None else self.requested(schema, query, document, variables,
                                                                 operation_name)
        if requested is None:  # invalid document or variables: answered without a charge
            return execute()
        bucket = self.bucket(shop)
        if not self.enforce:
            body = execute()
            actual = actual_cost(schema, document, variables, operation_name, _plain(body.get("data")))
            body.setdefault("extensions", {})["cost"] = self._cost(requested, actual, bucket)
            return body
        if requested > self.max_query_cost:
            return {"errors": [{
                "message": MAX_COST_MESSAGE.format(cost=requested, max=self.max_query_cost),
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": self.max_query_cost,
                               "documentation": RATE_LIMITS_DOC},
            }], "extensions": {"cost": self._cost(requested, None, bucket)}}
        with self._lock:
            admitted = bucket.take(requested)
        if not admitted:
            self.throttled[shop] = self.throttled.get(shop, 0) + 1
            return {"errors": [{"message": "Throttled",
                                "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC}}],
                    "extensions": {"cost": self._cost(requested, None, bucket)}}
        body = execute()
        actual = actual_cost(schema, document, variables, operation_name, _plain(body.get("data")))  # type: ignore[arg-type]
        actual = requested if actual is None else min(actual, requested)
        with self._lock:
            bucket.give(requested - actual)
            cost = self._cost(requested, actual, bucket)
        body.setdefault("extensions", {})["cost"] = cost
        return body

    def _cost(self, requested: int, actual: int | None, bucket: LeakyBucket) -> dict[str, Any]:
        return {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": bucket.status()}
