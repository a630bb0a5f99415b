"""The ops team's sheets (CSV files in one folder), each a dlt resource replaced on every load.

Config: `[sources.sheets] sheets_dir = "sheets"` (relative to the config folder, or absolute).
Every sheet is validated in full before anything is yielded, so a bad sheet loads nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt

from pipelines.sources.sheets.helpers import read_sheet
from pipelines.sources.sheets.settings import SHEETS, SheetSpec

# dlt data type of each sheet column type (the type dlt infers from the parsed values)
DLT_TYPES = {"str": "text", "int": "bigint", "decimal": "decimal", "date": "date", "bool": "bool",
             "currency": "text", "hhmm": "text", "timezone": "text"}


def sheet_columns(spec: SheetSpec) -> dict[str, dict[str, Any]]:
    """dlt column hints of a sheet: every declared column exists in its raw table, even with no row or no value."""
    return {column: {"data_type": DLT_TYPES[kind.rstrip("?")]} for column, kind in spec.columns.items()}


def _sheet_resource(name: str, spec: SheetSpec, folder: Path) -> Any:
    def rows() -> Iterator[list[dict[str, Any]]]:
        parsed = read_sheet(folder / f"{name}.csv", spec)
        yield parsed or dlt.mark.materialize_table_schema()  # a sheet with no row yet still gets its table

    return dlt.resource(rows, name=name, write_disposition="replace", primary_key=list(spec.key),
                        columns=sheet_columns(spec))


@dlt.source(name="sheets", max_table_nesting=0)
def sheets_source(sheets_dir: str = dlt.config.value) -> Any:
    folder = Path(sheets_dir)
    if not folder.is_absolute():
        folder = Path(os.environ.get("DLT_PROJECT_DIR", ".")) / folder
    return [_sheet_resource(name, spec, folder) for name, spec in SHEETS.items()]
