"""A graphql-core execution context with fast paths for dict-shaped results.

Most of an emulator response is scalars, enums, nested objects and lists of objects stored in plain dicts.
For each of those graphql-core builds a `GraphQLResolveInfo`, coerces (empty) arguments and walks
`complete_value`. Here, a field without a resolver on a dict source is read with `source.get(name)` and
completed directly: a leaf is serialized, an object (or a list of objects) recurses into `execute_fields`.
A field with a resolver is resolved as graphql-core does, and its dict / list-of-dicts result is completed the
same direct way. Anything unusual (a null in a non-null field, a value the type cannot serialize, abstract
types, other shapes, middleware) goes through graphql-core's own code, and errors raised below a fast-path
field are located and propagated the same way, so results and errors equal graphql-core's.

Below the root, an object is first tried with a *projection* (`_project`): the selection set compiled once
per execution into steps (read the key or call the resolver, then serialize a leaf, recurse into an object or
a list), run without building paths, resolve infos per object or graphql-core's completion machinery. Any
case it does not handle (a null in a non-null field, a resolver error, an unserializable value, abstract or
unusual types) abandons the projection of that object, which then runs the general way below, so the answer
and its errors are exactly graphql-core's. Root fields are never projected (their resolvers record stats).

The per-field decisions are compiled once per selection set (graphql-core caches the collected sub-fields,
so every object of a list shares one plan).

Only for synchronous resolvers: awaitables are not looked for (the emulators have none).

Across requests, `FragmentCache.context_class()` adds a cache of completed objects rendered as JSON fragments
(`orjson.Fragment`): an object of a cached type (Orders by default) is completed once per (selection set of the
document, values of the variables used below it, object `id`) and served from the cache afterwards, so a
repeated page-walk skips resolving and completing its tree. The cache belongs to one world (make a new one when
the world reloads); an object whose completion raised a field error is never cached. The result then holds
fragments where those objects are: serialize it with orjson.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from graphql import (
    ExecutionContext,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    located_error,
)
from graphql.execution.values import get_argument_values
from graphql.language import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, Node, VariableNode, Visitor, visit
from graphql.pyutils import Path, Undefined

LEAF, OBJECT, OBJECT_LIST, OTHER = range(4)
P_LEAF, P_OBJECT, P_OBJECT_LIST, P_LEAF_LIST, P_TYPENAME = range(5)
_MISS = object()


class _Sub:
    """A compiled object selection inside a projection step: its type, fields and steps, and whether objects of
    the type go through the fragment cache (with the selection's cache key, computed on first use)."""

    __slots__ = ("fields", "key", "steps", "type_", "cached")

    def __init__(self, type_: GraphQLObjectType, fields: dict[str, list[FieldNode]], steps: list[tuple] | None,
                 cached: bool) -> None:
        self.type_, self.fields, self.steps, self.cached = type_, fields, steps, cached
        self.key: tuple[Any, ...] | None = None


class _Fallback(Exception):
    """The projection cannot produce this object: complete it the general way."""


@dataclass(frozen=True)
class _Step:
    """One field of a compiled projection (see `FastExecutionContext._projection`)."""

    response_name: str
    name: str
    kind: int
    resolve: Any = None  # the field's resolver, or None to read `source[name]`
    info: Any = None
    args: dict[str, Any] | None = None
    leaf: Any = None  # leaf type (P_LEAF, P_LEAF_LIST)
    str_identity: bool = False
    non_null: bool = False
    item_non_null: bool = False
    sub: Any = None  # `_Sub`: the compiled object selection (P_OBJECT, P_OBJECT_LIST)


@dataclass(frozen=True)
class _FieldPlan:
    """How one selected field completes: `kind`, its named (item) type, and nullability."""

    response_name: str
    name: str
    field_nodes: list[FieldNode]
    field: GraphQLField | None
    kind: int
    named: Any = None
    non_null: bool = False
    item_type: GraphQLOutputType | None = None
    str_identity: bool = False  # a str value serializes to itself (String, ID, custom scalars)


def _str_identity(named: Any) -> bool:
    """Whether serializing a `str` of this leaf type returns it unchanged."""
    if named is GraphQLString or named is GraphQLID:
        return True
    # scalars built from introspection keep the default (identity) serializer
    return isinstance(named, GraphQLScalarType) and named.serialize is GraphQLScalarType.serialize


def _unwrap(type_: Any) -> tuple[Any, bool]:
    if isinstance(type_, GraphQLNonNull):
        return type_.of_type, True
    return type_, False


def _plan_field(parent_type: GraphQLObjectType, response_name: str, field_nodes: list[FieldNode]) -> _FieldPlan:
    name = field_nodes[0].name.value
    field = parent_type.fields.get(name)
    base = {"response_name": response_name, "name": name, "field_nodes": field_nodes, "field": field}
    if field is None:
        return _FieldPlan(kind=OTHER, **base)
    named, non_null = _unwrap(field.type)
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return _FieldPlan(kind=LEAF, named=named, non_null=non_null, str_identity=_str_identity(named), **base)
    if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
        return _FieldPlan(kind=OBJECT, named=named, non_null=non_null, **base)
    if isinstance(named, GraphQLList):
        item, item_non_null = _unwrap(named.of_type)
        if isinstance(item, GraphQLObjectType) and item.is_type_of is None:
            return _FieldPlan(kind=OBJECT_LIST, named=item, non_null=non_null, item_type=named.of_type, **base)
    return _FieldPlan(kind=OTHER, **base)


def _serialize(leaf_type: GraphQLScalarType | GraphQLEnumType, value: Any) -> Any:
    """The serialized leaf value, or `_MISS` when graphql-core should produce the error."""
    try:
        serialized = leaf_type.serialize(value)
    except Exception:  # noqa: BLE001 - graphql-core will report it properly
        return _MISS
    return _MISS if serialized is None or serialized is Undefined else serialized


def _null_item(non_null: bool) -> None:
    """A null list item: null, unless the item type is non-null (then graphql-core reports it)."""
    if non_null:
        raise _Fallback


class _VariableNames(Visitor):
    """Collects the variables and fragment spreads used below a node."""

    def __init__(self) -> None:
        super().__init__()
        self.variables: set[str] = set()
        self.spreads: set[str] = set()

    def enter_variable(self, node: VariableNode, *_args: Any) -> None:
        self.variables.add(node.name.value)

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> None:
        self.spreads.add(node.name.value)


def variables_below(nodes: list[FieldNode], fragments: dict[str, FragmentDefinitionNode]) -> frozenset[str]:
    """Names of the variables used anywhere below `nodes` (arguments, directives, spread fragments)."""
    collector = _VariableNames()
    pending: list[Node] = list(nodes)
    done: set[str] = set()
    while pending:
        visit(pending.pop(), collector)
        for name in collector.spreads - done:
            done.add(name)
            if name in fragments:
                pending.append(fragments[name])
    return frozenset(collector.variables)


class FragmentCache:
    """Completed objects of `types` as JSON fragments, shared by the requests against one world."""

    def __init__(self, types: frozenset[str] = frozenset({"Order"}), max_entries: int = 500_000) -> None:
        self.types = types
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._fragments: dict[tuple[Any, ...], orjson.Fragment] = {}
        self._pins: dict[int, Any] = {}  # keeps the operations alive, so the node ids in keys stay unique
        self.hits = self.misses = 0

    def context_class(self) -> type[FastExecutionContext]:
        """A `FastExecutionContext` subclass that uses this cache (pass as `execution_context_class`)."""
        return type("CachedExecutionContext", (FastExecutionContext,), {"fragment_cache": self})

    def pin(self, operation: Any) -> None:
        with self._lock:
            if id(operation) not in self._pins:
                if len(self._pins) >= 256:
                    self._pins.clear()
                    self._fragments.clear()
                self._pins[id(operation)] = operation

    def get(self, key: tuple[Any, ...]) -> orjson.Fragment | None:
        found = self._fragments.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: tuple[Any, ...], value: dict[str, Any]) -> orjson.Fragment:
        fragment = orjson.Fragment(orjson.dumps(value))
        with self._lock:
            if len(self._fragments) >= self.max_entries:
                self._fragments.clear()
            self._fragments[key] = fragment
        return fragment


class FastExecutionContext(ExecutionContext):
    """`ExecutionContext` with fast paths for default-resolved fields on dict sources (see module doc)."""

    fragment_cache: ClassVar[FragmentCache | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[int, int], tuple[Any, list[_FieldPlan]]] = {}
        self._args: dict[int, tuple[FieldNode, dict[str, Any]]] = {}
        self._selection_keys: dict[int, tuple[Any, tuple[Any, ...]]] = {}
        self._projections: dict[tuple[int, int], tuple[Any, list[tuple] | None]] = {}
        self._leaves: dict[tuple[Any, ...], Any] = {}
        if self.fragment_cache is not None:
            self.fragment_cache.pin(self.operation)

    def _selection_key(self, fields: dict[str, list[FieldNode]]) -> tuple[Any, ...]:
        """What, besides the object, a completion depends on: the field nodes and the variables below them."""
        cached = self._selection_keys.get(id(fields))
        if cached is None or cached[0] is not fields:
            nodes = [node for group in fields.values() for node in group]
            used = sorted(variables_below(nodes, self.fragments))
            values = tuple((name, repr(self.variable_values.get(name))) for name in used)
            cached = (fields, (id(self.operation), tuple(id(node) for node in nodes), values))
            self._selection_keys[id(fields)] = cached
        return cached[1]

    def _error_count(self) -> int:
        collected = getattr(self, "collected_errors", None)  # graphql-core 3.3; 3.2 keeps a list `errors`
        return len(collected.errors if collected is not None else self.errors)

    def _cached_fields(self, parent_type: GraphQLObjectType, source_value: dict[str, Any], path: Path | None,
                       fields: dict[str, list[FieldNode]]) -> Any:
        cache = self.fragment_cache
        assert cache is not None
        key = (parent_type.name, source_value["id"], self._selection_key(fields))
        found = cache.get(key)
        if found is not None:
            return found
        errors_before = self._error_count()
        completed = self._execute_fields(parent_type, source_value, path, fields)
        if self._error_count() != errors_before:
            return completed
        return cache.put(key, completed)

    def _selection_plan(
        self, parent_type: GraphQLObjectType, fields: dict[str, list[FieldNode]]
    ) -> list[_FieldPlan]:
        key = (id(parent_type), id(fields))
        cached = self._plans.get(key)
        if cached is None or cached[0] is not fields:
            plan = [_plan_field(parent_type, name, nodes) for name, nodes in fields.items()]
            cached = (fields, plan)
            self._plans[key] = cached
        return cached[1]

    def execute_fields(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> Any:
        cache = self.fragment_cache
        if (cache is not None and parent_type.name in cache.types and type(source_value) is dict
                and source_value.get("id") is not None and not self.middleware_manager):
            return self._cached_fields(parent_type, source_value, path, fields)
        return self._execute_fields(parent_type, source_value, path, fields)

    def _execute_fields(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> dict[str, Any]:
        is_dict = type(source_value) is dict
        if is_dict and path is not None and not self.middleware_manager:
            try:
                return self._project(parent_type, source_value, fields)
            except _Fallback:
                pass
        results: dict[str, Any] = {}
        for plan in self._selection_plan(parent_type, fields):
            completed: Any = _MISS
            if plan.kind == OTHER or self.middleware_manager:
                pass
            elif plan.field is not None and plan.field.resolve is not None:
                completed = self._execute_resolved(plan, parent_type, source_value, path)
            elif is_dict:
                value = source_value.get(plan.name)
                if value is None:
                    completed = _MISS if plan.non_null else None
                elif plan.kind == LEAF:
                    completed = value if plan.str_identity and type(value) is str else _serialize(plan.named, value)
                else:
                    completed = self._complete_default(plan, parent_type, value, path)
            if completed is _MISS:
                field_path = Path(path, plan.response_name, parent_type.name)
                completed = self.execute_field(parent_type, source_value, plan.field_nodes, field_path)
                if completed is Undefined:
                    continue
            results[plan.response_name] = completed
        return results

    # ------------------------------------------------------------ projection

    def _projection(self, parent_type: GraphQLObjectType, fields: dict[str, list[FieldNode]]) -> list[tuple] | None:
        """The compiled steps of a selection set on `parent_type` (None when it holds a case not projected)."""
        projections = self._projections
        key = (id(parent_type), id(fields))
        cached = projections.get(key)
        if cached is not None and cached[0] is fields:
            return cached[1]
        steps = self._compile(parent_type, fields)
        projections[key] = (fields, steps)
        return steps

    def _compile(self, parent_type: GraphQLObjectType, fields: dict[str, list[FieldNode]]) -> list[tuple] | None:
        """The steps as plain tuples of `_Step`'s fields (unpacked in the loop of `_project`)."""
        steps = self._compile_steps(parent_type, fields)
        names = [f.name for f in dataclasses.fields(_Step)]
        return None if steps is None else [tuple(getattr(step, name) for name in names) for step in steps]

    def _compile_steps(self, parent_type: GraphQLObjectType,
                       fields: dict[str, list[FieldNode]]) -> list[_Step] | None:
        steps = []
        for response_name, field_nodes in fields.items():
            name = field_nodes[0].name.value
            if name == "__typename":
                steps.append(_Step(response_name, name, P_TYPENAME))
                continue
            field = parent_type.fields.get(name)
            if field is None:
                return None
            base: dict[str, Any] = {"response_name": response_name, "name": name}
            if field.resolve is not None:
                try:
                    base["args"] = get_argument_values(field, field_nodes[0], self.variable_values)
                except Exception:  # noqa: BLE001 - graphql-core reports it
                    return None
                base["resolve"] = field.resolve
                base["info"] = self.build_resolve_info(field, field_nodes, parent_type,
                                                       Path(None, response_name, parent_type.name))
            named, non_null = _unwrap(field.type)
            base["non_null"] = non_null
            if isinstance(named, GraphQLScalarType | GraphQLEnumType):
                steps.append(_Step(kind=P_LEAF, leaf=named, str_identity=_str_identity(named), **base))
            elif isinstance(named, GraphQLObjectType) and named.is_type_of is None:
                steps.append(_Step(kind=P_OBJECT, sub=self._sub(named, field_nodes), **base))
            elif isinstance(named, GraphQLList):
                item, item_non_null = _unwrap(named.of_type)
                if isinstance(item, GraphQLScalarType | GraphQLEnumType):
                    steps.append(_Step(kind=P_LEAF_LIST, leaf=item, str_identity=_str_identity(item),
                                       item_non_null=item_non_null, **base))
                elif isinstance(item, GraphQLObjectType) and item.is_type_of is None:
                    steps.append(_Step(kind=P_OBJECT_LIST, sub=self._sub(item, field_nodes),
                                       item_non_null=item_non_null, **base))
                else:
                    return None
            else:
                return None
        return steps

    def _sub(self, type_: GraphQLObjectType, field_nodes: list[FieldNode]) -> _Sub:
        fields = self.collect_subfields(type_, field_nodes)
        cache = self.fragment_cache
        return _Sub(type_, fields, self._projection(type_, fields), cache is not None and type_.name in cache.types)

    def _project(self, parent_type: GraphQLObjectType, source: dict[str, Any],
                 fields: dict[str, list[FieldNode]]) -> dict[str, Any]:
        """The completed object, or `_Fallback` (see module doc)."""
        return self._run(parent_type, self._projection(parent_type, fields), source)

    def _run(self, parent_type: GraphQLObjectType, steps: list[tuple] | None, source: dict[str, Any]) -> dict[str, Any]:
        if steps is None:
            raise _Fallback
        out: dict[str, Any] = {}
        for response_name, name, kind, resolve, info, args, leaf, str_identity, non_null, item_non_null, sub in steps:
            if kind == P_TYPENAME:
                out[response_name] = parent_type.name
                continue
            if resolve is None:
                value = source.get(name)
            else:
                try:
                    value = resolve(source, info, **args)
                except Exception as exc:  # noqa: BLE001 - the general way reports it
                    raise _Fallback from exc
            if value is None:
                if non_null:
                    raise _Fallback
                out[response_name] = None
            elif kind == P_LEAF:
                out[response_name] = value if str_identity and type(value) is str else self._leaf(leaf, value)
            elif kind == P_OBJECT:
                out[response_name] = self._project_object(sub, value)
            elif type(value) is not list:
                raise _Fallback
            elif kind == P_OBJECT_LIST:
                out[response_name] = [self._project_object(sub, item) if item is not None
                                      else _null_item(item_non_null) for item in value]
            else:  # P_LEAF_LIST
                out[response_name] = [
                    (item if str_identity and type(item) is str else self._leaf(leaf, item)) if item is not None
                    else _null_item(item_non_null) for item in value]
        return out

    def _leaf(self, leaf_type: Any, value: Any) -> Any:
        """A serialized leaf (memoised per type and value within the execution: enums and flags repeat)."""
        key = (id(leaf_type), type(value), value)
        found = self._leaves.get(key, _MISS)
        if found is _MISS:
            found = _serialize(leaf_type, value)
            if found is _MISS:
                raise _Fallback
            if type(value) in (str, int, bool) and len(self._leaves) < 10_000:
                self._leaves[key] = found
        return found

    def _project_object(self, sub: _Sub, value: Any) -> Any:
        if type(value) is not dict:
            raise _Fallback
        if sub.cached and value.get("id") is not None:
            cache = self.fragment_cache
            assert cache is not None
            if sub.key is None:
                sub.key = self._selection_key(sub.fields)
            key = (sub.type_.name, value["id"], sub.key)
            found = cache.get(key)
            return found if found is not None else cache.put(key, self._run(sub.type_, sub.steps, value))
        return self._run(sub.type_, sub.steps, value)

    def _complete_fast(self, plan: _FieldPlan, path: Path, value: Any) -> Any:
        """Complete a dict (object) or list of dicts; `_MISS` when the value has another shape."""
        if plan.kind == OBJECT and type(value) is dict:
            return self.execute_fields(plan.named, value, path, self.collect_subfields(plan.named, plan.field_nodes))
        if plan.kind == OBJECT_LIST and type(value) is list and all(type(item) is dict for item in value):
            return self._object_list(plan, value, path)
        return _MISS

    def _field_error(self, plan: _FieldPlan, raw_error: Exception, path: Path) -> None:
        """Locate an error and null the field, or re-raise to the parent when the field is non-null."""
        assert plan.field is not None
        self.handle_field_error(located_error(raw_error, plan.field_nodes, path.as_list()), plan.field.type, path)

    def _complete_default(
        self, plan: _FieldPlan, parent_type: GraphQLObjectType, value: Any, path: Path | None
    ) -> Any:
        """A default-resolved object or list-of-objects value, or `_MISS` to let graphql-core handle it."""
        field_path = Path(path, plan.response_name, parent_type.name)
        try:
            return self._complete_fast(plan, field_path, value)
        except Exception as raw_error:  # noqa: BLE001 - same propagation as graphql-core's execute_field
            self._field_error(plan, raw_error, field_path)
            return None

    def _execute_resolved(
        self, plan: _FieldPlan, parent_type: GraphQLObjectType, source: Any, path: Path | None
    ) -> Any:
        """graphql-core's `execute_field` for a field with a resolver, with the fast completion when it fits."""
        assert plan.field is not None and plan.field.resolve is not None
        field_path = Path(path, plan.response_name, parent_type.name)
        info = self.build_resolve_info(plan.field, plan.field_nodes, parent_type, field_path)
        try:
            result = plan.field.resolve(source, info, **self._arguments(plan))
            completed = self._complete_fast(plan, field_path, result)
            if completed is _MISS:
                completed = self.complete_value(plan.field.type, plan.field_nodes, info, field_path, result)
            return completed
        except Exception as raw_error:  # noqa: BLE001 - same propagation as graphql-core's execute_field
            self._field_error(plan, raw_error, field_path)
            return None

    def _arguments(self, plan: _FieldPlan) -> dict[str, Any]:
        """A field's coerced arguments; constant within one execution (same node, same variables), so cached.

        Resolvers get a fresh copy, so one cannot change what the next sees."""
        assert plan.field is not None
        node = plan.field_nodes[0]
        cached = self._args.get(id(node))
        if cached is None or cached[0] is not node:
            cached = (node, get_argument_values(plan.field, node, self.variable_values))
            self._args[id(node)] = cached
        return dict(cached[1])

    def _object_list(self, plan: _FieldPlan, items: list[dict[str, Any]], path: Path) -> list[Any]:
        subfields = self.collect_subfields(plan.named, plan.field_nodes)
        completed: list[Any] = []
        for index, item in enumerate(items):
            item_path = path.add_key(index, None)
            try:
                completed.append(self.execute_fields(plan.named, item, item_path, subfields))
            except Exception as raw_error:  # noqa: BLE001 - an item error nulls the item or propagates
                assert plan.item_type is not None
                error = located_error(raw_error, plan.field_nodes, item_path.as_list())
                self.handle_field_error(error, plan.item_type, item_path)
                completed.append(None)
        return completed
