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


def _sheet_resource(name: str, spec: SheetSpec, folder: Path) -> Any:
    def rows() -> Iterator[list[dict[str, Any]]]:
        yield read_sheet(folder / f"{name}.csv", spec)

    return dlt.resource(rows, name=name, write_disposition="replace", primary_key=list(spec.key))


@dlt.source(name="sheets", max_table_nesting=0)
def sheets_source(sheets_dir: str = dlt.config.value) -> Any:
    folder = Path(sheets_dir)
    if not folder.is_absolute():
        folder = Path(os.environ.get("DLT_PROJECT_DIR", ".")) / folder
    return [_sheet_resource(name, spec, folder) for name, spec in SHEETS.items()]
