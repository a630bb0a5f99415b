"""The sheets source rejects a bad sheet whole, naming file, row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.sources.sheets.helpers import SheetError, read_sheet
from pipelines.sources.sheets.settings import SHEETS

GOOD_FX = "date,currency,rate_to_usd\n2026-10-01,AUD,0.65\n2026-10-01,USD,1\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    return path


def test_good_sheet_is_typed(tmp_path: Path) -> None:
    rows = read_sheet(write(tmp_path, "fx_rates", GOOD_FX), SHEETS["fx_rates"])
    assert [r["currency"] for r in rows] == ["AUD", "USD"]
    assert str(rows[0]["rate_to_usd"]) == "0.65"
    assert rows[0]["date"].isoformat() == "2026-10-01"


@pytest.mark.parametrize(
    ("sheet", "text", "row", "column", "problem"),
    [
        ("fx_rates", "date,rate_to_usd\n2026-10-01,1\n", 1, "currency", "missing column"),
        ("fx_rates", GOOD_FX + "2026-13-01,USD,1\n", 4, "date", "bad value '2026-13-01'"),
        ("fx_rates", GOOD_FX + "2026-10-02,XYZ,1\n", 4, "currency", "unknown currency"),
        ("fx_rates", GOOD_FX + "2026-10-01,AUD,0.66\n", 4, "date,currency", "duplicate key"),
        ("fx_rates", GOOD_FX + "2026-10-02,AUD,\n", 4, "rate_to_usd", "empty value"),
        ("stores", "store_id,brand,market,shop_domain,currency,timezone,order_cutoff_local,business_days\n"
                   "s1,B,AU,s1.myshopify.com,AUD,Mars/Olympus,14:00,Mon-Fri\n", 2, "timezone", "unknown IANA"),
        ("refund_causes", "code,label,owner,preventable_default\nx,X,supplier,maybe\n", 2, "preventable_default",
         "expected true or false"),
    ],
)
def test_bad_row_names_file_row_and_column(tmp_path: Path, sheet: str, text: str, row: int, column: str,
                                           problem: str) -> None:
    path = write(tmp_path, sheet, text)
    with pytest.raises(SheetError) as excinfo:
        read_sheet(path, SHEETS[sheet])
    error = excinfo.value
    assert (error.row, error.column) == (row, column)
    assert str(path) in str(error) and f"row {row}" in str(error) and repr(column) in str(error)
    assert problem in str(error)


def test_bad_sheet_loads_nothing(tmp_path: Path) -> None:
    """The whole sheet is validated before anything is yielded, so no partial load can happen."""
    from pipelines.sources.sheets import sheets_source

    for name in SHEETS:
        (tmp_path / f"{name}.csv").write_text(",".join(SHEETS[name].columns) + "\n")
    write(tmp_path, "fx_rates", GOOD_FX + "2026-10-02,XYZ,1\n")
    resource = sheets_source(sheets_dir=str(tmp_path)).resources["fx_rates"]
    with pytest.raises(Exception, match="XYZ"):
        list(resource)
