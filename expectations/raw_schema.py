"""The raw tables' expected columns: what each dlt source declares (its column hints), with the DuckDB type
dlt gives each declared type. The schema checks (expectations/suites.py) compare the warehouse with this."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

# dlt data type → the DuckDB type dlt creates for it (decimal: any precision and scale)
DUCKDB_TYPES = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "date": "DATE",
    "time": "TIME",
    "json": "JSON",
    "binary": "BLOB",
    "decimal": "DECIMAL",
}
# dlt stores a value whose type differs from its column's in a variant column `<column>__v_<type>`
VARIANT = re.compile(r"^(?P<column>.+)__v_(?P<type>[a-z0-9_]+)$")
SOURCES = ("shopify", "stripe", "reamaze", "aftership")


def declared_columns() -> dict[str, dict[str, dict[str, dict]]]:
    """source → table → column → dlt hint, as the sources declare them."""
    from pipelines.sources.aftership.settings import TRACKING_COLUMNS
    from pipelines.sources.reamaze.settings import TABLE_COLUMNS as REAMAZE
    from pipelines.sources.shopify.objects import OBJECT_TABLE_COLUMNS
    from pipelines.sources.shopify.settings import TABLE_COLUMNS as SHOPIFY
    from pipelines.sources.stripe.settings import TABLE_COLUMNS as STRIPE

    return {
        "shopify": {**SHOPIFY, **OBJECT_TABLE_COLUMNS},
        "stripe": STRIPE,
        "reamaze": REAMAZE,
        "aftership": {"trackings": TRACKING_COLUMNS},
    }


def _type_matches(declared: str | None, actual: str) -> bool:
    expected = DUCKDB_TYPES.get(declared or "")
    if expected is None:
        return True  # no declared type: dlt infers it
    return actual == expected or (expected == "DECIMAL" and actual.startswith("DECIMAL"))


def warehouse_columns(warehouse: Path, sources: tuple[str, ...]) -> pd.DataFrame:
    """source, table, column, data_type of every loaded raw table of `sources` (dlt's own tables left out)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        frame = con.execute("""
            select
                substr(table_schema, 5) as source,
                table_name as "table",
                column_name as "column",
                data_type
            from information_schema.columns
            where table_schema in (select unnest(?))
                and table_name not like '\\_dlt%' escape '\\'
            order by table_schema, table_name, ordinal_position
        """, [[f"raw_{s}" for s in sources]]).df()
    finally:
        con.close()
    return frame


def breaking_changes(warehouse: Path) -> pd.DataFrame:
    """One row per declared column of every loaded raw table, and one per variant column: `problem` says what
    broke (column missing, other type, values of another type) or is NULL."""
    declared = declared_columns()
    have = warehouse_columns(warehouse, tuple(declared))
    rows = []
    for (source, table), group in have.groupby(["source", "table"], sort=True):
        types = dict(zip(group["column"], group["data_type"], strict=True))
        expected = declared.get(source, {}).get(table, {})
        for column, hint in expected.items():
            actual = types.get(column)
            problem = None
            if actual is None:
                problem = "missing"
            elif not _type_matches(hint.get("data_type"), actual):
                problem = f"is {actual}, expected {DUCKDB_TYPES[hint['data_type']]}"
            rows.append((f"raw_{source}.{table}.{column}", problem))
        for column in types:
            found = VARIANT.match(column)
            if found and not column.startswith("_dlt"):
                rows.append((f"raw_{source}.{table}.{found['column']}",
                             f"values arrived as {found['type']} (variant column {column})"))
    return pd.DataFrame(rows, columns=["column", "problem"])


def _aftership_fields() -> dict[str, set[str]]:
    """AfterShip trackings are loaded whole (dlt flattens objects into `<field>__<sub>`, lists into child
    tables): the fields of the Tracking and Checkpoint models of the AfterShip SDK are the expected ones."""
    from tracking.models.checkpoint import Checkpoint
    from tracking.models.tracking import Tracking

    return {"trackings": set(Tracking.model_fields), "trackings__checkpoints": set(Checkpoint.model_fields)}


def known_fields() -> dict[str, dict[str, set[str]]]:
    """source → table → the columns (or top-level fields) that are not new. Shopify, Stripe and Re:amaze rows are
    built from named fields, so any column some table of the source declares is known there."""
    declared = declared_columns()
    known: dict[str, dict[str, set[str]]] = {}
    for source, tables in declared.items():
        every = {c for columns in tables.values() for c in columns}
        known[source] = {table: set(every) for table in tables}
    for table, fields in _aftership_fields().items():
        known["aftership"][table] = fields | set(declared["aftership"].get(table, {}))
    return known


def additive_changes(warehouse: Path) -> pd.DataFrame:
    """One row per loaded raw table: `new_columns` lists the columns no declaration or API model of its source
    knows (NULL when none)."""
    known = known_fields()
    have = warehouse_columns(warehouse, SOURCES)
    rows = []
    for (source, table), group in have.groupby(["source", "table"], sort=True):
        expected = known.get(source, {}).get(table)
        if expected is None:  # a child table no source declares: judged through its parent's fields
            expected = {c for columns in known.get(source, {}).values() for c in columns}
        new = [c for c in group["column"]
               if not c.startswith("_dlt") and not VARIANT.match(c)
               and c not in expected and c.split("__")[0] not in expected]
        rows.append((f"raw_{source}.{table}", ", ".join(new) or None))
    return pd.DataFrame(rows, columns=["table", "new_columns"])
