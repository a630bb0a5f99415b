"""Reading and validating one CSV sheet. Any bad row rejects the whole sheet with file, row and column."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.sources.sheets.settings import SheetSpec

ISO_CURRENCIES = frozenset(
    "AED AUD BRL CAD CHF CNY CZK DKK EUR GBP HKD IDR ILS INR JPY KRW MXN MYR NOK NZD PHP PLN SEK SGD THB TRY "
    "TWD USD ZAR".split()
)


class SheetError(ValueError):
    """A sheet that cannot be loaded; the message names the file, the row (1 = header) and the column."""

    def __init__(self, path: Path, row: int | None, column: str | None, problem: str):
        where = f"{path}" + (f", row {row}" if row is not None else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {problem}")
        self.path, self.row, self.column, self.problem = path, row, column, problem


def _parse(kind: str, raw: str) -> Any:
    if kind == "str":
        return raw
    if kind == "int":
        return int(raw)
    if kind == "decimal":
        return Decimal(raw)
    if kind == "date":
        return date.fromisoformat(raw)
    if kind == "bool":
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise ValueError("expected true or false")
        return lowered == "true"
    if kind == "currency":
        if raw not in ISO_CURRENCIES:
            raise ValueError("unknown currency code")
        return raw
    if kind == "hhmm":
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", raw):
            raise ValueError("expected a time HH:MM")
        return raw
    if kind == "timezone":
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown IANA time zone") from exc
        return raw
    raise AssertionError(f"unknown column type {kind}")


def read_sheet(path: Path, spec: SheetSpec) -> list[dict[str, Any]]:
    """Parse every row of `path` against `spec`; raise SheetError on the first bad cell, missing column or dup key."""
    if not path.exists():
        raise SheetError(path, None, None, "file not found")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for column in spec.columns:
            if column not in header:
                raise SheetError(path, 1, column, "missing column")
        rows: list[dict[str, Any]] = []
        seen: dict[tuple, int] = {}
        for line_no, raw_row in enumerate(reader, start=2):
            row: dict[str, Any] = {}
            for column, kind in spec.columns.items():
                optional = kind.endswith("?")
                raw = (raw_row.get(column) or "").strip()
                if raw == "":
                    if not optional:
                        raise SheetError(path, line_no, column, "empty value")
                    row[column] = None
                    continue
                try:
                    row[column] = _parse(kind.rstrip("?"), raw)
                except (ValueError, InvalidOperation) as exc:
                    raise SheetError(path, line_no, column, f"bad value {raw!r} ({exc})") from None
            key = tuple(row[c] for c in spec.key)
            if key in seen:
                raise SheetError(path, line_no, ",".join(spec.key),
                                 f"duplicate key {key!r} (first on row {seen[key]})")
            seen[key] = line_no
            rows.append(row)
    return rows
