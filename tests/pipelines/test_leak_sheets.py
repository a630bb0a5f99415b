"""The leak sheets (refund_decision_matrix, approval_limits, shipping_labels, supplier_credits): typed rows, a bad
row rejects the sheet naming file, row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.sources.sheets.helpers import SheetError, read_sheet
from pipelines.sources.sheets.settings import SHEETS

MATRIX = ("cause,value_band,min_order_value,max_order_value,first_choice,allowed\n"
          "supplier_defect,low,0.00,50.00,replacement,replacement;store_credit;cash_refund\n"
          "supplier_defect,high,200.00,,replacement,replacement;partial_refund;cash_refund\n")
LIMITS = "staff,name,role,max_amount,currency\npriya-shah,Priya Shah,agent,250.00,USD\n"
LABELS = ("label_id,provider,store_id,order_name,shipment_date,direction,carrier,service,tracking_number,"
          "return_name,cost,currency\n"
          "42000000000,ShipStation,lumen-au,#1001,2026-08-19,outbound,auspost,Parcel Post,33QJ0001,,10.95,AUD\n"
          "42000000011,ShipStation,lumen-au,#1011,2026-08-21,return,auspost,Parcel Post,SS42000000011,#1011-R1,"
          "10.95,AUD\n")
CREDITS = ("credit_id,supplier_id,store_id,order_name,sku,issued_date,amount,currency\n"
           "SC-000001,sup-shenzhen-optics,lumen-au,#1001,LUM-0002,2026-09-07,433.34,CNY\n")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    return path


def test_good_leak_sheets_are_typed(tmp_path: Path) -> None:
    matrix = read_sheet(write(tmp_path, "refund_decision_matrix", MATRIX), SHEETS["refund_decision_matrix"])
    assert str(matrix[0]["max_order_value"]) == "50.00" and matrix[1]["max_order_value"] is None
    limits = read_sheet(write(tmp_path, "approval_limits", LIMITS), SHEETS["approval_limits"])
    assert str(limits[0]["max_amount"]) == "250.00" and limits[0]["currency"] == "USD"
    labels = read_sheet(write(tmp_path, "shipping_labels", LABELS), SHEETS["shipping_labels"])
    assert labels[0]["label_id"] == 42000000000 and labels[1]["shipment_date"].isoformat() == "2026-08-21"
    assert labels[0]["return_name"] is None and labels[1]["return_name"] == "#1011-R1"
    credits = read_sheet(write(tmp_path, "supplier_credits", CREDITS), SHEETS["supplier_credits"])
    assert str(credits[0]["amount"]) == "433.34" and credits[0]["currency"] == "CNY"


@pytest.mark.parametrize(
    ("sheet", "text", "row", "column", "problem"),
    [
        ("refund_decision_matrix", MATRIX + "supplier_defect,low,0.00,50.00,cash_refund,cash_refund\n", 4,
         "cause,value_band", "duplicate key"),
        ("approval_limits", LIMITS + "tom-becker,Tom Becker,agent,,USD\n", 3, "max_amount", "empty value"),
        ("shipping_labels", LABELS + "4200000001x,ShipStation,lumen-au,#1002,2026-08-19,outbound,auspost,"
                                     "Parcel Post,33QJ0002,,10.95,AUD\n", 4, "label_id", "bad value '4200000001x'"),
        ("supplier_credits", CREDITS + "SC-000002,sup-a,lumen-au,#1002,LUM-0001,2026-09-31,1.00,CNY\n", 3,
         "issued_date", "bad value '2026-09-31'"),
    ],
)
def test_bad_leak_sheet_row_names_file_row_and_column(tmp_path: Path, sheet: str, text: str, row: int, column: str,
                                                      problem: str) -> None:
    path = write(tmp_path, sheet, text)
    with pytest.raises(SheetError) as excinfo:
        read_sheet(path, SHEETS[sheet])
    error = excinfo.value
    assert (error.row, error.column) == (row, column)
    assert str(path) in str(error) and f"row {row}" in str(error) and repr(column) in str(error)
    assert problem in str(error)
