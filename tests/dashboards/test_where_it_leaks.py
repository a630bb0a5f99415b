"""The Where it leaks page on a fixture serving.duckdb holding the two §4 marts (leakage_concentration,
fix_candidates) with known figures: Pareto rows, the window switch, the estimated monthly saving and the sentence.

Expected values are computed here from the fixture's own figures, not through the dashboard.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

if TYPE_CHECKING:
    from conftest import ServingDb

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
TIMEOUT_S = 60
PAGE = "views/where_it_leaks.py"

# (time_window, dimension, dimension_value, leak_cost, preventable_leak_cost, revenue)
SLICES = [
    ("last_full_month", "supplier", "sup-acme", 3000.00, 2500.00, 30000.00),
    ("last_full_month", "supplier", "sup-bolt", 1000.00, 200.00, 40000.00),
    ("last_full_month", "supplier", "sup-calm", 0.00, 0.00, 40000.00),
    ("last_full_month", "sku", "SKU-1", 2500.00, 2400.00, 10000.00),
    ("last_full_month", "sku", "SKU-2", 1500.00, 300.00, 90000.00),
    ("last_full_month", "carrier", "auspost", 4000.00, 2700.00, 100000.00),
    ("trailing_90d", "supplier", "sup-acme", 6000.00, 5000.00, 90000.00),
    ("trailing_90d", "supplier", "sup-bolt", 5000.00, 1000.00, 210000.00),
    ("trailing_90d", "carrier", "auspost", 5000.00, 1900.00, 300000.00),
    ("trailing_90d", "carrier", "fedex", 9000.00, 8000.00, 100000.00),
]
# (time_window, rank, dimension, dimension_value, dominant_cause, owner, suggested_action)
CANDIDATES = [
    ("last_full_month", 1, "sku", "SKU-1", "supplier_defect", "supplier", "QC at the supplier"),
    ("last_full_month", 2, "supplier", "sup-acme", "supplier_defect", "supplier", "QC at the supplier"),
    ("trailing_90d", 1, "carrier", "fedex", "lost_in_transit", "carrier", "packaging or carrier switch"),
]


def concentration() -> pd.DataFrame:
    """The leakage_concentration rows of the fixture, computed the way METRICS.md §4 defines them."""
    frame = pd.DataFrame(SLICES, columns=["time_window", "dimension", "dimension_value", "leak_cost",
                                          "preventable_leak_cost", "revenue"])
    frame["leak_rate"] = frame["leak_cost"] / frame["revenue"]
    parts = []
    for _, part in frame.groupby(["time_window", "dimension"], sort=False):
        part = part.sort_values(["leak_cost", "dimension_value"], ascending=[False, True]).copy()
        part["share"] = part["leak_cost"] / part["leak_cost"].sum()
        part["pareto_rank"] = range(1, len(part) + 1)
        part["cumulative_share"] = part["share"].cumsum()
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    # Portfolio rate per window: the carrier slices cover every sale, so their sums are the portfolio's.
    carriers = frame[frame["dimension"] == "carrier"].groupby("time_window")[["leak_cost", "revenue"]].sum()
    frame["portfolio_leak_rate"] = frame["time_window"].map(carriers["leak_cost"] / carriers["revenue"])
    return frame


def candidates() -> pd.DataFrame:
    slices = concentration().set_index(["time_window", "dimension", "dimension_value"])
    rows = []
    for window, rank, dim, value, cause, owner, action in CANDIDATES:
        s = slices.loc[(window, dim, value)]
        excess = (s["leak_rate"] - s["portfolio_leak_rate"]) * s["revenue"]
        rows.append((window, rank, dim, value, s["leak_cost"], s["preventable_leak_cost"], s["revenue"],
                     s["leak_rate"], s["portfolio_leak_rate"], excess, cause, owner, action))
    return pd.DataFrame(rows, columns=["time_window", "fix_rank", "dimension", "dimension_value", "leak_cost",
                                       "preventable_leak_cost", "revenue", "leak_rate", "portfolio_leak_rate",
                                       "excess_leak", "dominant_cause", "owner", "suggested_action"])


def add_leak_marts(path: Path, saving_column: bool = False) -> None:
    """Write the two §4 marts into the fixture serving.duckdb (optionally with the mart's own saving)."""
    conc, cand = concentration(), candidates()
    if saving_column:
        cand["estimated_monthly_saving"] = 1234.0
    with duckdb.connect(str(path)) as con:
        con.register("conc", conc)
        con.register("cand", cand)
        con.execute("create table marts.leakage_concentration as select *, 'USD' as reporting_currency from conc")
        con.execute("create table marts.fix_candidates as select *, 'USD' as reporting_currency from cand")


def run_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    return at.switch_page(PAGE).run()


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    frames = [f.value for f in at.dataframe if column in f.value.columns]
    assert len(frames) == 1, [list(f.value.columns) for f in at.dataframe]
    return frames[0]


def plain(markdown: str) -> str:
    return markdown.replace("**", "").replace("*", "").replace("\\$", "$")


def sentence(at: AppTest) -> str:
    texts = [plain(md.value) for md in at.markdown if "Top fix" in md.value]
    assert len(texts) == 1, [md.value for md in at.markdown]
    return texts[0]


@pytest.fixture
def leak_db(serving_db: ServingDb) -> ServingDb:
    add_leak_marts(serving_db.path)
    return serving_db


def test_pareto_shows_the_mart_rows_of_the_window_and_dimension(leak_db: ServingDb) -> None:
    at = run_page()

    assert not at.exception, [e.value for e in at.exception]
    assert not any("not available yet" in i.value for i in at.info if "leakage_concentration" in i.value)
    assert at.segmented_control(key="where_window").value == "last_full_month"
    assert at.segmented_control(key="where_dim").value == "supplier"
    expected = concentration()
    expected = expected[(expected["time_window"] == "last_full_month") & (expected["dimension"] == "supplier")
                        & (expected["leak_cost"] > 0)]
    shown = frame_with(at, "pareto_rank")
    assert shown["supplier"].tolist() == ["sup-acme", "sup-bolt"]  # the zero-cost slice is not a bar
    for column in ("leak_cost", "share", "cumulative_share", "leak_rate", "pareto_rank"):
        assert shown[column].tolist() == pytest.approx(expected[column].tolist()), column
    assert shown["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    # A Pareto chart: bars of leak cost and the cumulative-share line.
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert '"bar"' in spec and '"line"' in spec and "cumulative_share" in spec

    at.segmented_control(key="where_dim").set_value("carrier").run()
    at.segmented_control(key="where_window").set_value("trailing_90d").run()
    shown = frame_with(at, "pareto_rank")
    assert shown["carrier"].tolist() == ["fedex", "auspost"]
    assert shown["leak_cost"].tolist() == [9000.0, 5000.0]


def test_fix_candidates_have_the_monthly_saving_and_the_top_one_is_named(leak_db: ServingDb) -> None:
    cand = candidates()
    at = run_page()

    shown = frame_with(at, "estimated_monthly_saving")
    month = cand[cand["time_window"] == "last_full_month"]
    assert shown["dimension_value"].tolist() == month["dimension_value"].tolist()
    assert shown["estimated_monthly_saving"].tolist() == pytest.approx(month["excess_leak"].tolist())
    # SKU-1: leak rate 25 % against 4 % for the portfolio on 10,000 of revenue -> 2,100 excess a month.
    assert shown["estimated_monthly_saving"].iloc[0] == pytest.approx(2100.0)
    text = sentence(at)
    assert text.startswith("Top fix (last full month): SKU SKU-1 leaks 25.0 % of its revenue against 4.0 %")
    assert "supplier_defect (owner: supplier)" in text and "save about US$ 2,100 a month" in text
    assert any("30/90" in c.value for c in at.caption)

    at.segmented_control(key="where_window").set_value("trailing_90d").run()
    shown = frame_with(at, "estimated_monthly_saving")
    # fedex, trailing 90 days: (9 % − 3.5 %) × 100,000 = 5,500 excess over 90 days -> 1,833.33 a month.
    assert shown["dimension_value"].tolist() == ["fedex"]
    assert shown["estimated_monthly_saving"].iloc[0] == pytest.approx(5500.0 * 30 / 90)
    assert "carrier fedex" in sentence(at) and "US$ 1,833 a month" in sentence(at)


def test_the_marts_own_saving_wins(serving_db: ServingDb) -> None:
    add_leak_marts(serving_db.path, saving_column=True)
    at = run_page()

    shown = frame_with(at, "estimated_monthly_saving")
    assert shown["estimated_monthly_saving"].tolist() == [1234.0, 1234.0]
    assert "excess_leak_per_month" not in shown.columns


def test_missing_marts_are_named(serving_db: ServingDb) -> None:
    at = run_page()

    assert not at.exception
    notes = " ".join(i.value for i in at.info)
    assert "marts.leakage_concentration" in notes and "marts.fix_candidates" in notes
