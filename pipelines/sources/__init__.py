"""dlt sources, one package per API plus the ops sheets (dlt verified-source layout)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dlt


def declared_tables(columns: Mapping[str, dict[str, dict]], primary_keys: Mapping[str, Any] | Any = "id",
                    write_disposition: str = "merge") -> Iterator[Any]:
    """One empty item per table, carrying its hints: dlt creates every declared table (with its declared columns)
    even when no row reaches it yet (a shop with no return, an account with no dispute), so staging always
    builds. `primary_keys`: one key for all tables, or a mapping table → key."""
    for table, table_columns in columns.items():
        key = primary_keys.get(table) if isinstance(primary_keys, Mapping) else primary_keys
        yield dlt.mark.with_hints(
            dlt.mark.materialize_table_schema(),
            dlt.mark.make_hints(table_name=table, columns=table_columns, primary_key=key,
                                write_disposition=write_disposition),
            create_table_variant=True,
        )
