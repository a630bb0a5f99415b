"""Leak sheets end to end on `tiny` (shares `published_tiny`): every row of the four leak sheets reaches raw_sheets
unchanged, and staging keeps them (the decision matrix as one row per allowed resolution)."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from pipelines.sources.sheets.helpers import read_sheet
from pipelines.sources.sheets.settings import SHEETS
from tests.conftest import Leakwatch

pytestmark = pytest.mark.slow

LEAK_SHEETS = ("refund_decision_matrix", "approval_limits", "shipping_labels", "supplier_credits")


@pytest.fixture(scope="module")
def warehouse(published_tiny: Leakwatch):
    con = duckdb.connect(str(published_tiny.var_dir / "warehouse.duckdb"), read_only=True)
    yield published_tiny, con
    con.close()


def _normalise(value):
    """Comparable text: DuckDB gives decimal(38,9) for the sheet's `12.30`, so decimals compare by value."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return None if value is None else str(value)


@pytest.mark.parametrize("sheet", LEAK_SHEETS)
def test_leak_sheet_extracted_row_for_row(warehouse, sheet: str) -> None:
    leakwatch, con = warehouse
    spec = SHEETS[sheet]
    expected = read_sheet(leakwatch.var_dir / "sandbox" / "sheets" / f"{sheet}.csv", spec)
    assert expected, f"{sheet}.csv is empty: the test would prove nothing"
    columns = list(spec.columns)
    loaded = con.execute(f"select {', '.join(columns)} from raw_sheets.{sheet}").fetchall()
    as_rows = sorted(tuple(_normalise(v) for v in row) for row in loaded)
    assert as_rows == sorted(tuple(_normalise(r[c]) for c in columns) for r in expected)


def test_staging_keeps_every_leak_sheet_row(warehouse) -> None:
    leakwatch, con = warehouse
    sheets = leakwatch.var_dir / "sandbox" / "sheets"
    for sheet in ("approval_limits", "shipping_labels", "supplier_credits"):
        rows = read_sheet(sheets / f"{sheet}.csv", SHEETS[sheet])
        assert con.execute(f"select count(*) from staging.stg_sheets__{sheet}").fetchone()[0] == len(rows), sheet
    labels = read_sheet(sheets / "shipping_labels.csv", SHEETS["shipping_labels"])
    cost = con.execute("select sum(label_cost_amount) from staging.stg_sheets__shipping_labels").fetchone()[0]
    assert cost == sum(r["cost"] for r in labels)
    matrix = read_sheet(sheets / "refund_decision_matrix.csv", SHEETS["refund_decision_matrix"])
    expected = sorted((r["cause"], r["value_band"], a, a == r["first_choice"])
                      for r in matrix for a in r["allowed"].split(";"))
    staged = con.execute("select cause, value_band, resolution, is_first_choice "
                         "from staging.stg_sheets__refund_decision_matrix").fetchall()
    assert sorted(staged) == expected


def test_reamaze_internal_notes_reach_staging(warehouse) -> None:
    """Every internal note at the clock (on a conversation the API lists) is in stg_reamaze__messages as an
    internal note (visibility 1) by a staff user."""
    from sandbox.world import load_world, world_at

    leakwatch, con = warehouse
    world = world_at(load_world(leakwatch.var_dir / "sandbox" / "world"))
    notes = world.areas["leaks"]["internal_notes"]
    notes = notes[notes["conversation_slug"].isin(world.areas["support"]["conversations"]["slug"])]
    assert len(notes) > 0, "no internal note at the clock: the test would prove nothing"
    staged = set(con.execute("select conversation_slug, body from staging.stg_reamaze__messages "
                             "where visibility = 1 and user_is_staff and body like '%approved_by:%'").fetchall())
    assert staged == set(zip(notes["conversation_slug"], notes["body"], strict=True))
