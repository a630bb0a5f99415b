"""The real Shopify Admin GraphQL schema (2026-07), vendored under `specs/shopify/` (ISC, see LICENSE there).

The schema is built once per process from the introspection JSON and cached. Every call of
`shopify_schema()` returns the same `GraphQLSchema` object; the emulator attaches resolvers to it once
(`sandbox.emulators.shopify_resolvers.attach_resolvers`), which is idempotent.
"""

from __future__ import annotations

import gzip
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import graphql
import orjson

SPEC_DIR = Path(__file__).parent / "specs" / "shopify"
SCHEMA_VERSION = "2026-07"
SCHEMA_FILE = SPEC_DIR / f"admin_{SCHEMA_VERSION}.json.gz"

_lock = threading.Lock()


def _graphql_core_at_least(major: int, minor: int) -> bool:
    parts = graphql.__version__.split(".")
    return (int(parts[0]), int(parts[1])) >= (major, minor)


def _clear_object_field_deprecation(introspection: dict[str, Any]) -> None:
    """graphql-core >= 3.3 rejects some of Shopify's deprecated object fields when building a client
    schema; clearing `isDeprecated` on object fields avoids that (it only changes introspection output)."""
    for type_ in introspection["__schema"]["types"]:
        for field in type_.get("fields") or ():
            field["isDeprecated"] = False


def load_introspection(path: Path = SCHEMA_FILE) -> dict[str, Any]:
    """The `data` member of the vendored introspection result."""
    with gzip.open(path, "rb") as fh:
        return orjson.loads(fh.read())["data"]


@lru_cache(maxsize=1)
def _build() -> graphql.GraphQLSchema:
    introspection = load_introspection()
    if _graphql_core_at_least(3, 3):
        _clear_object_field_deprecation(introspection)
    return graphql.build_client_schema(introspection, assume_valid=True)


def shopify_schema() -> graphql.GraphQLSchema:
    """The process-wide Shopify Admin schema (built on first use, ~0.5-1 s)."""
    with _lock:
        return _build()
