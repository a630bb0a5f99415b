"""Bulk operations of the Shopify Admin GraphQL emulator: `bulkOperationRunQuery`, polling, the JSONL result.

- `mutation { bulkOperationRunQuery(query: "…") { bulkOperation { id status } userErrors { field message code } } }`
  checks the bulk query the way Shopify documents it and answers `userErrors` (code INVALID, field ["query"]) for:
  a document that does not parse or validate ("Invalid bulk query: …"), no connection, more than 5 connections,
  connections nested deeper than 2 levels, a connection inside a list field, a nested connection whose parent
  node does not select `id`; and OPERATION_IN_PROGRESS while another query operation of the shop is running.
  Emulator limit: the query must start at `orders` (the only served root connection); `first`/`last`/`after`
  of its connections are ignored (everything is exported), as on Shopify.
- Status runs CREATED → RUNNING → COMPLETED in a worker thread (`BulkTimings` keeps each state visible for a
  while, so clients really poll); the snapshot is the world at the clock when the operation was created.
  `currentBulkOperation(type: QUERY)`, `bulkOperation(id:)` and `node(id:)` (BulkOperation GIDs) return it with
  id, status, errorCode, createdAt, completedAt, objectCount, rootObjectCount, fileSize, url, partialDataUrl,
  query, type.
- The result is JSONL served at `url` (`GET /__bulk/{shop}/{id}.jsonl`, no token, like a signed storage URL):
  one object per line; objects of a nested connection are lines of their own, after their parent, carrying
  `__parentId` (the parent's id); objects and lists that are not connections stay inline. No result: url null.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import graphql
import orjson
from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    IntValueNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    get_named_type,
    is_abstract_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields

from sandbox.emulators.fast_execution import FastExecutionContext
from sandbox.emulators.shopify_cost import _is_connection, _is_list
from sandbox.emulators.shopify_errors import validation_error
from sandbox.emulators.shopify_resolvers import RequestContext, gid, parse_gid

BULK_MUTATIONS = frozenset({"bulkOperationRunQuery"})
ROOT_CONNECTIONS = frozenset({"orders"})
MAX_CONNECTIONS = 5
MAX_NESTING = 2
PAGE = 250
PAGE_INFO_ALIAS = "bulkPageInfo__"
TYPENAME_ALIAS = "bulkTypename__"  # asked of abstract connection nodes (ReturnLineItemType), left out of the lines
BULK_PATH = "/__bulk/{shop}/{op_id}.jsonl"

NO_CONNECTION = "Bulk queries must contain at least one connection."
TOO_MANY_CONNECTIONS = f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
TOO_DEEP = f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_NESTING}."
CONNECTION_IN_LIST = "Queries that contain a connection field within a list field are not currently supported."
PARENT_WITHOUT_ID = ("The parent 'node' field for a nested connection must select the 'id' field without an alias "
                     "and must be of 'ID' return type. Connection fields without 'id': {fields}.")
IN_PROGRESS = "A bulk query operation for this app and shop is already in progress: {id}."
ROOT_NOT_SERVED = "emulator: bulk queries must start at a served connection (orders)"


@dataclass(frozen=True)
class BulkTimings:
    """Seconds an operation stays CREATED, and at least RUNNING (the export itself may take longer)."""

    created_seconds: float = 0.05
    running_seconds: float = 0.1


@dataclass
class BulkOperation:
    op_id: int
    shop: str
    query: str
    created_at: datetime
    status: str = "CREATED"
    completed_at: datetime | None = None
    object_count: int = 0
    root_object_count: int = 0
    payload: bytes | None = None
    error_code: str | None = None
    base_url: str = ""

    @property
    def gid(self) -> str:
        return gid("BulkOperation", self.op_id)

    def node(self) -> dict[str, Any]:
        has_file = self.status == "COMPLETED" and self.payload
        return {
            "__typename": "BulkOperation",
            "id": self.gid,
            "status": self.status,
            "errorCode": self.error_code,
            "createdAt": _iso(self.created_at),
            "completedAt": None if self.completed_at is None else _iso(self.completed_at),
            "objectCount": str(self.object_count),
            "rootObjectCount": str(self.root_object_count),
            "fileSize": str(len(self.payload)) if has_file and self.payload else None,
            "url": (self.base_url.rstrip("/") + BULK_PATH.format(shop=self.shop, op_id=self.op_id)
                    if has_file else None),
            "partialDataUrl": None,
            "query": self.query,
            "type": "QUERY",
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BulkQueryError(ValueError):
    """A bulk query Shopify refuses (reported as a userError)."""


# ---------------------------------------------------------------- checking the bulk query


@dataclass
class _Check:
    schema: GraphQLSchema
    connections: int = 0
    deepest: int = 0
    in_list: bool = False
    parents_without_id: list[str] = field(default_factory=list)


def _walk(check: _Check, type_: GraphQLObjectType, fields: dict[str, list[FieldNode]], depth: int,
          in_list: bool, node_has_id: bool) -> None:
    for nodes in fields.values():
        name = nodes[0].name.value
        field_def = type_.fields.get(name)
        if field_def is None or name.startswith("__"):
            continue
        named = get_named_type(field_def.type)
        if not isinstance(named, GraphQLObjectType):
            continue
        sub = collect_sub_fields(check.schema, {}, {}, named, nodes)
        if _is_connection(named):
            check.connections += 1
            check.deepest = max(check.deepest, depth)
            check.in_list |= in_list
            if depth > 0 and not node_has_id:
                check.parents_without_id.append(name)
            for options in _connection_item_options(check.schema, named, sub):
                # an abstract node type: the possible type whose selection holds the most connections counts
                walked = []
                for item_type, item_fields in options:
                    has_id = "id" in item_fields and item_fields["id"][0].name.value == "id"
                    sub_check = _Check(check.schema)
                    _walk(sub_check, item_type, item_fields, depth + 1, in_list, has_id)
                    walked.append(sub_check)
                worst = max(walked, key=lambda c: (c.connections, c.deepest), default=None)
                if worst is not None:
                    check.connections += worst.connections
                    check.deepest = max(check.deepest, worst.deepest)
                    check.in_list |= worst.in_list
                    check.parents_without_id.extend(worst.parents_without_id)
        else:
            _walk(check, named, sub, depth, in_list or _is_list(field_def.type), node_has_id)


Fields = dict[str, list[FieldNode]]


def _possible_fields(schema: GraphQLSchema, node_type: Any,
                     nodes: list[FieldNode]) -> list[tuple[GraphQLObjectType, Fields]]:
    """(object type, its fields) for each type a connection node can be (several for an abstract node type)."""
    if isinstance(node_type, GraphQLObjectType):
        return [(node_type, collect_sub_fields(schema, {}, {}, node_type, nodes))]
    if is_abstract_type(node_type):
        return [(t, collect_sub_fields(schema, {}, {}, t, nodes)) for t in schema.get_possible_types(node_type)]
    return []


def _connection_item_options(schema: GraphQLSchema, conn: GraphQLObjectType,
                             sub: Fields) -> Iterator[list[tuple[GraphQLObjectType, Fields]]]:
    """For `nodes { … }` and `edges { node { … } }` of a connection selection: the (node type, node fields)
    options (one for an object node type, one per possible type for an abstract one)."""
    for nodes in sub.values():
        name = nodes[0].name.value
        if name == "nodes":
            options = _possible_fields(schema, get_named_type(conn.fields["nodes"].type), nodes)
            if options:
                yield options
        elif name == "edges":
            edge_type = get_named_type(conn.fields["edges"].type)
            assert isinstance(edge_type, GraphQLObjectType)
            for enodes in collect_sub_fields(schema, {}, {}, edge_type, nodes).values():
                if enodes[0].name.value == "node":
                    options = _possible_fields(schema, get_named_type(edge_type.fields["node"].type), enodes)
                    if options:
                        yield options


def check_bulk_query(schema: GraphQLSchema, query: str) -> DocumentNode:
    """The parsed bulk query, or BulkQueryError with Shopify's message."""
    try:
        document = graphql.parse(query)
    except GraphQLError as exc:
        raise BulkQueryError(f"Invalid bulk query: {exc.message}") from exc
    errors = graphql.validate(schema, document)
    if errors:
        raise BulkQueryError(f"Invalid bulk query: {validation_error(errors[0])['message']}")
    operation = graphql.get_operation_ast(document)
    if operation is None or operation.operation != OperationType.QUERY:
        raise BulkQueryError("Invalid bulk query: a bulk query must be a single query operation")
    assert schema.query_type is not None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    if fragments:  # emulator limit: the walks below read plain selections
        raise BulkQueryError("Invalid bulk query: emulator: fragments are not supported in bulk queries")
    roots = collect_fields(schema, {}, {}, schema.query_type, operation.selection_set)
    check = _Check(schema)
    _walk(check, schema.query_type, roots, 0, False, True)
    if check.connections == 0:
        raise BulkQueryError(NO_CONNECTION)
    if check.connections > MAX_CONNECTIONS:
        raise BulkQueryError(TOO_MANY_CONNECTIONS)
    if check.deepest > MAX_NESTING:
        raise BulkQueryError(TOO_DEEP)
    if check.in_list:
        raise BulkQueryError(CONNECTION_IN_LIST)
    if check.parents_without_id:
        raise BulkQueryError(PARENT_WITHOUT_ID.format(fields=", ".join(check.parents_without_id)))
    if len(roots) != 1 or next(iter(roots.values()))[0].name.value not in ROOT_CONNECTIONS:
        raise BulkQueryError(ROOT_NOT_SERVED)
    return document


# ---------------------------------------------------------------- running it


def _page_args(node: FieldNode, after: str | None) -> FieldNode:
    """The field with `first: 250` (and `after`) instead of the client's paging arguments."""
    args = [a for a in node.arguments or () if a.name.value not in {"first", "last", "after", "before"}]
    args.append(ArgumentNode(name=NameNode(value="first"), value=IntValueNode(value=str(PAGE))))
    if after is not None:
        args.append(ArgumentNode(name=NameNode(value="after"), value=StringValueNode(value=after)))
    page_info = graphql.parse(f"{{ {PAGE_INFO_ALIAS}: pageInfo {{ hasNextPage endCursor }} }}").definitions[0]
    assert isinstance(page_info, OperationDefinitionNode)
    selections = [*(node.selection_set.selections if node.selection_set else ()),
                  *page_info.selection_set.selections]
    return FieldNode(alias=node.alias, name=node.name, arguments=tuple(args), directives=node.directives,
                     selection_set=SelectionSetNode(selections=tuple(selections)))


def _with_pages(schema: GraphQLSchema, type_: GraphQLObjectType, selection: SelectionSetNode,
                root_after: str | None, is_root: bool) -> SelectionSetNode:
    """A copy of the selection whose connections ask for whole pages (root: from `root_after`)."""
    out = []
    for sel in selection.selections:
        if not isinstance(sel, FieldNode) or sel.selection_set is None:
            out.append(sel)
            continue
        field_def = type_.fields.get(sel.name.value)
        named = None if field_def is None else get_named_type(field_def.type)
        if not isinstance(named, GraphQLObjectType):
            out.append(sel)
            continue
        inner = _with_pages_connection(schema, named, sel.selection_set) if _is_connection(named) else \
            _with_pages(schema, named, sel.selection_set, None, False)
        new = copy.copy(sel)
        new.selection_set = inner
        if _is_connection(named):
            new = _page_args(new, root_after if is_root else None)
        out.append(new)
    return SelectionSetNode(selections=tuple(out))


def _with_pages_connection(schema: GraphQLSchema, conn: GraphQLObjectType,
                           selection: SelectionSetNode) -> SelectionSetNode:
    out = []
    for sel in selection.selections:
        if isinstance(sel, FieldNode) and sel.selection_set is not None and sel.name.value in {"nodes", "edges"}:
            new = copy.copy(sel)
            item = get_named_type(conn.fields[sel.name.value].type)
            if sel.name.value == "nodes" and is_abstract_type(item):
                new.selection_set = _with_typename(sel.selection_set)
            elif sel.name.value == "nodes":
                new.selection_set = _with_pages(schema, item, sel.selection_set, None, False)
            else:
                new.selection_set = _with_pages_connection_edge(schema, item, sel.selection_set)
            out.append(new)
        else:
            out.append(sel)
    return SelectionSetNode(selections=tuple(out))


def _with_pages_connection_edge(schema: GraphQLSchema, edge: GraphQLObjectType,
                                selection: SelectionSetNode) -> SelectionSetNode:
    out = []
    for sel in selection.selections:
        if isinstance(sel, FieldNode) and sel.name.value == "node" and sel.selection_set is not None:
            new = copy.copy(sel)
            node_type = get_named_type(edge.fields["node"].type)
            if is_abstract_type(node_type):
                new.selection_set = _with_typename(sel.selection_set)
            else:
                new.selection_set = _with_pages(schema, node_type, sel.selection_set, None, False)
            out.append(new)
        else:
            out.append(sel)
    return SelectionSetNode(selections=tuple(out))


def _with_typename(selection: SelectionSetNode) -> SelectionSetNode:
    """The selection of an abstract node plus `bulkTypename__: __typename` (its lines need the concrete type;
    emulator limit: connections below an abstract node are not paged)."""
    extra = graphql.parse(f"{{ {TYPENAME_ALIAS}: __typename }}").definitions[0]
    assert isinstance(extra, OperationDefinitionNode)
    return SelectionSetNode(selections=(*selection.selections, *extra.selection_set.selections))


def _page_document(schema: GraphQLSchema, document: DocumentNode, after: str | None) -> DocumentNode:
    operation = graphql.get_operation_ast(document)
    assert operation is not None and schema.query_type is not None
    new_op = copy.copy(operation)
    new_op.selection_set = _with_pages(schema, schema.query_type, operation.selection_set, after, True)
    return DocumentNode(definitions=(new_op,))


def _items(conn: dict[str, Any], sub: dict[str, list[FieldNode]]) -> list[dict[str, Any]]:
    for key, nodes in sub.items():
        if nodes[0].name.value == "nodes":
            return list(conn.get(key) or [])
    for key, nodes in sub.items():
        if nodes[0].name.value == "edges":
            node_keys = [k for n in nodes for s in (n.selection_set.selections if n.selection_set else ())
                         if isinstance(s, FieldNode) and s.name.value == "node"
                         for k in [s.alias.value if s.alias else "node"]]
            return [edge[node_keys[0]] for edge in conn.get(key) or []] if node_keys else []
    return []


class _Lines:
    """Turns response data into JSONL lines: connection items become lines with `__parentId`."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.lines: list[bytes] = []
        self.roots = 0

    def connection(self, conn_type: GraphQLObjectType, nodes: list[FieldNode], data: dict[str, Any] | None,
                   parent_id: str | None) -> None:
        if data is None:
            return
        sub = collect_sub_fields(self.schema, {}, {}, conn_type, nodes)
        if sub.get(PAGE_INFO_ALIAS) and parent_id is not None and data[PAGE_INFO_ALIAS]["hasNextPage"]:
            raise RuntimeError(f"emulator: a nested connection of {parent_id} has more than {PAGE} objects")
        options = next(_connection_item_options(self.schema, conn_type, sub), None)
        if not options:
            return
        by_name = {type_.name: (type_, fields) for type_, fields in options}
        for item in _items(data, sub):
            type_, fields = options[0] if len(options) == 1 else by_name[item[TYPENAME_ALIAS]]
            self.item(type_, fields, item, parent_id)

    def item(self, type_: GraphQLObjectType, fields: dict[str, list[FieldNode]], data: dict[str, Any],
             parent_id: str | None) -> None:
        line, children = self._inline(type_, fields, data)
        if parent_id is not None:
            line["__parentId"] = parent_id
        else:
            self.roots += 1
        self.lines.append(orjson.dumps(line))
        for conn_type, nodes, conn_data in children:
            self.connection(conn_type, nodes, conn_data, data.get("id"))

    def _inline(self, type_: GraphQLObjectType, fields: dict[str, list[FieldNode]],
                data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[GraphQLObjectType, list[FieldNode], Any]]]:
        line: dict[str, Any] = {}
        children: list[tuple[GraphQLObjectType, list[FieldNode], Any]] = []
        for key, nodes in fields.items():
            if key in (PAGE_INFO_ALIAS, TYPENAME_ALIAS):
                continue
            field_def = type_.fields.get(nodes[0].name.value)
            named = None if field_def is None else get_named_type(field_def.type)
            if isinstance(named, GraphQLObjectType) and _is_connection(named):
                children.append((named, nodes, data.get(key)))
            else:
                line[key] = data.get(key)
        return line, children


# ---------------------------------------------------------------- the registry


Executor = Callable[[RequestContext, DocumentNode], dict[str, Any]]


class BulkOperations:
    """Every bulk operation of one emulator app, per shop."""

    def __init__(self, schema: Callable[[], GraphQLSchema], timings: BulkTimings | None = None) -> None:
        self._schema = schema
        self.timings = timings or BulkTimings()
        self._lock = threading.Lock()
        self._ops: dict[int, BulkOperation] = {}
        self._next_id = 1

    def get(self, shop: str, op_id: int) -> BulkOperation | None:
        op = self._ops.get(op_id)
        return op if op is not None and op.shop == shop else None

    def current(self, shop: str) -> BulkOperation | None:
        """The shop's newest operation."""
        with self._lock:
            return self._newest(shop)

    def _newest(self, shop: str) -> BulkOperation | None:
        ops = [op for op in self._ops.values() if op.shop == shop]
        return max(ops, key=lambda op: op.op_id) if ops else None

    def start(self, ctx: BulkContext, query: str) -> dict[str, Any]:
        """`bulkOperationRunQuery`: a payload with the new operation, or userErrors."""
        schema = self._schema()
        try:
            document = check_bulk_query(schema, query)
        except BulkQueryError as exc:
            return {"bulkOperation": None, "userErrors": [{"field": ["query"], "message": str(exc), "code": "INVALID"}]}
        shop = ctx.store.shop
        with self._lock:
            running = self._newest(shop)
            if running is not None and running.status in {"CREATED", "RUNNING"}:
                return {"bulkOperation": None, "userErrors": [{
                    "field": None, "message": IN_PROGRESS.format(id=running.gid), "code": "OPERATION_IN_PROGRESS"}]}
            op = BulkOperation(self._next_id, shop, query, datetime.now(UTC), base_url=ctx.base_url)
            self._next_id += 1
            self._ops[op.op_id] = op
        worker_ctx = dataclasses.replace(ctx, search_notes=[])
        threading.Thread(target=self._run, args=(op, worker_ctx, document), daemon=True).start()
        return {"bulkOperation": op.node(), "userErrors": []}

    def _run(self, op: BulkOperation, ctx: RequestContext, document: DocumentNode) -> None:
        time.sleep(self.timings.created_seconds)
        op.status = "RUNNING"
        started = time.monotonic()
        try:
            payload, count, roots = self._export(ctx, document)
        except Exception:  # noqa: BLE001 - reported like Shopify: FAILED with an error code
            op.status, op.error_code = "FAILED", "INTERNAL_SERVER_ERROR"
            op.completed_at = datetime.now(UTC)
            return
        time.sleep(max(0.0, self.timings.running_seconds - (time.monotonic() - started)))
        op.payload, op.object_count, op.root_object_count = payload, count, roots
        op.completed_at = datetime.now(UTC)
        op.status = "COMPLETED"

    def _export(self, ctx: RequestContext, document: DocumentNode) -> tuple[bytes, int, int]:
        schema = self._schema()
        assert schema.query_type is not None
        operation = graphql.get_operation_ast(document)
        assert operation is not None
        roots = collect_fields(schema, {}, {}, schema.query_type, operation.selection_set)
        (root_key, root_nodes), = roots.items()
        root_type = get_named_type(schema.query_type.fields[root_nodes[0].name.value].type)
        assert isinstance(root_type, GraphQLObjectType)
        lines = _Lines(schema)
        after = None
        while True:
            page_doc = _page_document(schema, document, after)
            result = graphql.execute(schema, page_doc, root_value={}, context_value=ctx,
                                     execution_context_class=FastExecutionContext)
            if result.errors:
                raise RuntimeError(result.errors[0].message)
            assert result.data is not None
            conn = result.data[root_key]
            page_op = graphql.get_operation_ast(page_doc)
            assert page_op is not None
            page_nodes = collect_fields(schema, {}, {}, schema.query_type, page_op.selection_set)[root_key]
            lines.connection(root_type, page_nodes, conn, None)
            info = conn[PAGE_INFO_ALIAS]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        payload = b"".join(line + b"\n" for line in lines.lines)
        return payload, len(lines.lines), lines.roots

    def payload(self, shop: str, op_id: int) -> bytes | None:
        op = self.get(shop, op_id)
        return None if op is None or op.status != "COMPLETED" else op.payload


@dataclass
class BulkContext(RequestContext):
    """The request context plus what bulk operations need: the registry and the emulator's base URL."""

    bulk: BulkOperations | None = None
    base_url: str = ""


# ---------------------------------------------------------------- resolvers


def _bulk(info: GraphQLResolveInfo) -> tuple[BulkOperations, str]:
    ctx = info.context
    registry = getattr(ctx, "bulk", None)
    if registry is None:
        raise GraphQLError("emulator: bulk operations are not available here")
    return registry, ctx.store.shop


def resolve_run_query(_root: Any, info: GraphQLResolveInfo, query: str, **_ignored: Any) -> dict[str, Any]:
    registry, _ = _bulk(info)
    return registry.start(info.context, query)


def resolve_current(_root: Any, info: GraphQLResolveInfo, type: str = "QUERY") -> dict[str, Any] | None:  # noqa: A002
    registry, shop = _bulk(info)
    op = registry.current(shop) if type == "QUERY" else None
    return None if op is None else op.node()


def _op_by_gid(info: GraphQLResolveInfo, value: str) -> dict[str, Any] | None:
    registry, shop = _bulk(info)
    _, op_id = parse_gid(value)
    op = registry.get(shop, op_id)
    return None if op is None else op.node()


def resolve_bulk_operation(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:  # noqa: A002
    return _op_by_gid(info, id)


def _wrap_node(original: Callable[..., Any]) -> Callable[..., Any]:
    def resolve_node(root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
        if parse_gid(id)[0] == "BulkOperation":
            return _op_by_gid(info, id)
        return original(root, info, id=id)

    resolve_node.bulk_wrapper = True  # type: ignore[attr-defined]
    return resolve_node


def attach_bulk_resolvers(schema: GraphQLSchema) -> None:
    """Serve the bulk fields on the shared schema; idempotent (QueryRoot.node is wrapped once)."""
    assert schema.query_type is not None and schema.mutation_type is not None
    schema.mutation_type.fields["bulkOperationRunQuery"].resolve = resolve_run_query
    schema.query_type.fields["currentBulkOperation"].resolve = resolve_current
    schema.query_type.fields["bulkOperation"].resolve = resolve_bulk_operation
    node = schema.query_type.fields["node"]
    if node.resolve is not None and not getattr(node.resolve, "bulk_wrapper", False):
        node.resolve = _wrap_node(node.resolve)


def only_bulk_mutations(document: DocumentNode, operation_name: str | None) -> bool:
    """True when the operation is a mutation whose root fields are all served bulk mutations."""
    operation = graphql.get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.MUTATION:
        return False
    return all(isinstance(sel, FieldNode) and sel.name.value in BULK_MUTATIONS
               for sel in operation.selection_set.selections)
