"""The fulfilment sheets (holidays, carriers, carrier_claims, supplier_transit_sla): typed rows, and a bad row
rejects the sheet naming file, row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.sources.sheets.helpers import SheetError, read_sheet
from pipelines.sources.sheets.settings import SHEETS

HOLIDAYS = "store_id,market,date,name\nlumen-au,AU,2026-01-26,Australia Day\n,US,2026-07-04,Independence Day\n"
CARRIERS = ("carrier,carrier_name,market,service,transit_sla_days,guaranteed,claim_window_days,currency,label_cost\n"
            "auspost,Australia Post,AU,Parcel Post,5,false,40,AUD,10.95\n")
CLAIMS = ("claim_id,store_id,order_name,tracking_number,carrier,claim_type,filed_date,claimed_amount,currency,"
          "status,paid_date,paid_amount\n"
          "CLM-000001,lumen-au,#1054,JD01,dhl,delayed,2026-09-08,39.85,AUD,paid,2026-10-14,39.85\n"
          "CLM-000002,lumen-au,#1001,33QJ01,auspost,lost,2026-09-10,26.07,AUD,filed,,\n")
TRANSIT = "supplier_id,market,transit_sla_days\nsup-a,AU,10\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    return path


def test_good_sheets_are_typed(tmp_path: Path) -> None:
    holidays = read_sheet(write(tmp_path, "holidays", HOLIDAYS), SHEETS["holidays"])
    assert holidays[1]["store_id"] is None and holidays[1]["date"].isoformat() == "2026-07-04"
    carriers = read_sheet(write(tmp_path, "carriers", CARRIERS), SHEETS["carriers"])
    assert carriers[0]["guaranteed"] is False and carriers[0]["transit_sla_days"] == 5
    claims = read_sheet(write(tmp_path, "carrier_claims", CLAIMS), SHEETS["carrier_claims"])
    assert str(claims[0]["paid_amount"]) == "39.85" and claims[1]["paid_date"] is None
    transit = read_sheet(write(tmp_path, "supplier_transit_sla", TRANSIT), SHEETS["supplier_transit_sla"])
    assert transit[0]["transit_sla_days"] == 10


@pytest.mark.parametrize(
    ("sheet", "text", "row", "column", "problem"),
    [
        ("holidays", HOLIDAYS + "lumen-au,AU,2026-02-30,Nope\n", 4, "date", "bad value '2026-02-30'"),
        ("carriers", CARRIERS + "dhl,DHL,AU,Express,2,yes,30,AUD,20.00\n", 3, "guaranteed", "expected true or false"),
        ("carrier_claims", CLAIMS + "CLM-000003,lumen-au,#1002,X1,dhl,lost,2026-09-11,abc,AUD,filed,,\n", 4,
         "claimed_amount", "bad value 'abc'"),
        ("supplier_transit_sla", TRANSIT + "sup-b,US,\n", 3, "transit_sla_days", "empty value"),
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
