"""Render graphql-core errors the way Shopify (graphql-ruby) words its static validation errors.

Shopify answers an invalid document with HTTP 200 and `{"errors": [{"message", "locations", "extensions":
{"code", ...}}]}`. The common graphql-core messages are translated to graphql-ruby's wording and codes
(`undefinedField`, `argumentNotAccepted`, `missingRequiredArguments`, `variableNotUsed`,
`variableNotDefined`, `selectionMismatch`); anything else keeps graphql-core's message with the code
`GRAPHQL_VALIDATION_FAILED` (emulator choice). Parse errors carry no extensions, as on Shopify.
Not emulated: graphql-ruby's `path` on validation errors (e.g. `["query", "orders", "nodes", "foo"]`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError

Rendered = tuple[str, dict[str, Any]]
_Q = r"'([^']+)'"


def _undefined_field(m: re.Match[str]) -> Rendered:
    field, type_name = m.group(1), m.group(2)
    return (f"Field '{field}' doesn't exist on type '{type_name}'",
            {"code": "undefinedField", "typeName": type_name, "fieldName": field})


def _unknown_argument(m: re.Match[str]) -> Rendered:
    arg, field = m.group(1), m.group(2).split(".")[-1]
    return (f"Field '{field}' doesn't accept argument '{arg}'",
            {"code": "argumentNotAccepted", "name": field, "typeName": "Field", "argumentName": arg})


def _missing_argument(m: re.Match[str]) -> Rendered:
    field, arg = m.group(1), m.group(2)
    return (f"Field '{field}' is missing required arguments: {arg}",
            {"code": "missingRequiredArguments", "className": "Field", "name": field, "arguments": arg})


def _unused_variable(m: re.Match[str]) -> Rendered:
    var, op = m.group(1), m.group(2) or "anonymous query"
    return (f"Variable ${var} is declared by {op} but not used",
            {"code": "variableNotUsed", "variableName": var})


def _undefined_variable(m: re.Match[str]) -> Rendered:
    var, op = m.group(1), m.group(2) or "anonymous query"
    return (f"Variable ${var} is used by {op} but not declared",
            {"code": "variableNotDefined", "variableName": var})


def _missing_selection(m: re.Match[str]) -> Rendered:
    field, type_name = m.group(1), m.group(2)
    return (f"Field must have selections (field '{field}' returns {type_name.rstrip('!')} but has no "
            f"selections. Did you mean '{field} {{ ... }}'?)",
            {"code": "selectionMismatch", "nodeName": f"field '{field}'"})


def _scalar_selection(m: re.Match[str]) -> Rendered:
    field, type_name = m.group(1), m.group(2)
    return (f"Selections can't be made on scalars (field '{field}' returns {type_name.rstrip('!')} but has "
            "selections)",
            {"code": "selectionMismatch", "nodeName": f"field '{field}'", "typeName": type_name.rstrip("!")})


_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Rendered]]] = [
    (re.compile(rf"^Cannot query field {_Q} on type {_Q}\."), _undefined_field),
    (re.compile(rf"^Unknown argument {_Q} on field {_Q}\."), _unknown_argument),
    (re.compile(rf"^Field {_Q} argument {_Q} of type {_Q} is required"), _missing_argument),
    (re.compile(rf"^Variable '\$([^']+)' is never used(?: in operation {_Q})?\."), _unused_variable),
    (re.compile(rf"^Variable '\$([^']+)' is not defined(?: by operation {_Q})?\."), _undefined_variable),
    (re.compile(rf"^Field {_Q} of type {_Q} must have a selection of subfields"), _missing_selection),
    (re.compile(rf"^Field {_Q} must not have a selection since type {_Q}"), _scalar_selection),
]


def _locations(error: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]


def validation_error(error: GraphQLError) -> dict[str, Any]:
    """One static validation error in Shopify's shape."""
    message, extensions = error.message, {"code": "GRAPHQL_VALIDATION_FAILED"}
    for pattern, render in _RULES:
        match = pattern.match(error.message)
        if match:
            message, extensions = render(match)
            break
    return {"message": message, "locations": _locations(error), "extensions": extensions}


def syntax_error(error: GraphQLError) -> dict[str, Any]:
    """A parse error (Shopify reports these without extensions)."""
    return {"message": error.message, "locations": _locations(error)}


def execution_error(error: GraphQLError) -> dict[str, Any]:
    """An error raised while executing (resolver errors, null in a non-null field, bad variables)."""
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = _locations(error)
    if error.path:
        out["path"] = list(error.path)
    if error.extensions:
        out["extensions"] = error.extensions
    return out
