"""Every page and the global filters, run with AppTest against a real tiny-preset serving.duckdb.

The KPI values a page shows are compared with marts.kpis read directly with DuckDB (not through the dashboard).
"""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import app, data, filters
from dashboards.ui import fmt_value

pytestmark = pytest.mark.timeout(1200)  # the first test builds the session's tiny run
APP = Path(app.__file__)
TIMEOUT_S = 60
PAGE_FILES = [name for name, *_ in app.PAGES]


def run_app(query: dict[str, str | list[str]] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params.update(query or {})
    return at.run()


def open_page(at: AppTest, name: str) -> AppTest:
    return at.switch_page(f"views/{name}").run()


def kpi_value(serving: Path, metric: str, store_id: str | None, month: date | None) -> float | None:
    """One value straight from marts.kpis (month grain for ``month``, else the as-of row)."""
    with duckdb.connect(str(serving), read_only=True) as con:
        row = con.execute(
            "select value from marts.kpis where metric = ? and dimension is null "
            "and store_id is not distinct from ? and (grain = 'asof' or period_start = ?) "
            "order by grain = 'month' desc limit 1",
            [metric, store_id, month],
        ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def latest_month(serving: Path) -> date:
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute("select max(period_start) from marts.kpis where grain = 'month'").fetchone()[0]


def latest_complete_month(serving: Path) -> date:
    """The month the area pages report: the latest one that ended a day before the run's as-of time."""
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(
            "select max(period_start) from marts.kpis where grain = 'month' "
            "and period_start + interval 1 month + interval 1 day <= (select max(as_of) from marts.kpis)"
        ).fetchone()[0]


def published_metrics(serving: Path) -> set[str]:
    with duckdb.connect(str(serving), read_only=True) as con:
        return {row[0] for row in con.execute("select distinct metric from marts.kpis").fetchall()}


def published_marts(serving: Path) -> set[str]:
    with duckdb.connect(str(serving), read_only=True) as con:
        rows = con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
    return {row[0] for row in rows}


QUERY_NAMES = sorted(path.stem for path in data.QUERIES_DIR.glob("*.sql"))


def query_params(name: str, serving: Path) -> dict[str, object] | None:
    """Bound parameters for the queries that take some: the latest month, the whole range, the portfolio."""
    month = latest_month(serving)
    return {
        "leakage_by_cause": {"period_start": month, "store_id": None},
        "leakage_in_range": {"start": date(2000, 1, 1), "end": date(2100, 1, 1)},
        "kpi_values": {"metrics": ["refund_cost"], "all_stores": True, "store_ids": []},
    }.get(name)


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_every_query_runs_on_the_real_serving_db(real_serving_db: Path, name: str) -> None:
    """Every table and column a page reads exists in the marts the pipeline really publishes."""
    frame = data.run_query(name, query_params(name, real_serving_db))
    assert isinstance(frame, pd.DataFrame) and len(frame.columns) > 0


def tiles(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_renders_and_shows_marts_kpis(real_serving_db: Path, page: str) -> None:
    at = open_page(run_app(), page)

    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning, [w.value for w in at.warning]
    module = importlib.import_module(f"dashboards.views.{page.removesuffix('.py')}")
    shown = tiles(at)
    month = latest_complete_month(real_serving_db)
    present = published_metrics(real_serving_db)
    page_kpis = getattr(module, "KPIS", [])
    notes = " ".join(info.value for info in at.info)
    if page_kpis and not any(kpi.metric in present for kpi in page_kpis):
        assert "KPIs are not available yet" in notes and f"`{page_kpis[0].metric}`" in notes, page
        page_kpis = []
    for kpi in page_kpis:
        label = f"{kpi.label} (USD)" if kpi.kind == "money" else kpi.label
        assert label in shown, f"{page}: no tile for {kpi.metric}"
        if kpi.metric in present:
            expected = kpi_value(real_serving_db, kpi.metric, None, month)
            assert shown[label] == fmt_value(expected, kpi.kind, "USD"), (page, kpi.metric)
        else:
            assert shown[label] == "n/a", (page, kpi.metric)
    # A mart the page reads is either shown as a table or named in a "not available yet" note.
    for name in ("open_orders", "carrier_claims", "support_quality", "chargebacks", "integration_issues",
                 "fix_candidates"):
        source = Path(module.__file__).read_text()
        if f'"{name}"' in source and name not in published_marts(real_serving_db):
            assert f"marts.{name}" in notes, (page, name)
    # Every table can be downloaded.
    assert len(at.get("download_button")) >= len(at.dataframe)


def test_overview_seed_kpis_equal_marts_kpis(real_serving_db: Path) -> None:
    at = run_app()
    shown = tiles(at)
    month = latest_month(real_serving_db)

    assert shown["Refund cost % of profit"] == fmt_value(
        kpi_value(real_serving_db, "refund_cost_pct_of_profit", None, month), "pct", "USD")
    assert shown["Refund cost (USD)"] == fmt_value(kpi_value(real_serving_db, "refund_cost", None, month), "money",
                                                   "USD")
    present = published_metrics(real_serving_db)
    from dashboards.views.overview import SEED_KPIS

    for kpi in SEED_KPIS:
        label = f"{kpi.label} (USD)" if kpi.kind == "money" else kpi.label
        expected = (fmt_value(kpi_value(real_serving_db, kpi.metric, None, month), kpi.kind, "USD")
                    if kpi.metric in present else "n/a")
        assert shown[label] == expected, kpi.metric


def test_store_filter_scopes_values_and_lands_in_the_url(real_serving_db: Path) -> None:
    at = run_app()
    store = at.multiselect(key="f_store").options[-1]
    at.multiselect(key="f_store").set_value([store]).run()

    assert not at.exception
    assert at.query_params.get("store") in (store, [store])
    month = latest_month(real_serving_db)
    expected = kpi_value(real_serving_db, "refund_cost_pct_of_profit", store, month)
    assert tiles(at)["Refund cost % of profit"] == fmt_value(expected, "pct", "USD")
    portfolio = kpi_value(real_serving_db, "refund_cost_pct_of_profit", None, month)
    assert expected != portfolio  # otherwise the test could not tell the filter was applied
    assert set(at.dataframe[0].value["store_id"]) <= {store}


def test_filters_are_read_from_a_shared_link(real_serving_db: Path) -> None:
    with duckdb.connect(str(real_serving_db), read_only=True) as con:
        store, market = con.execute("select store_id, market from marts.stores order by store_id limit 1").fetchone()
        months = [r[0] for r in con.execute(
            "select distinct period_start from marts.kpis where grain = 'month' order by 1").fetchall()]
    first_month = months[-2]
    at = run_app({"market": market, "from": first_month.isoformat()})

    assert not at.exception
    assert at.multiselect(key="f_market").value == [market]
    assert at.multiselect(key="f_store").options == [store]
    shown_months = at.selectbox(key="month").options
    assert len(shown_months) == 2 and shown_months[1] == months[-2].strftime("%B %Y"), shown_months
    expected = kpi_value(real_serving_db, "refund_cost_pct_of_profit", store, months[-1])
    assert tiles(at)["Refund cost % of profit"] == fmt_value(expected, "pct", "USD")
    assert at.query_params.get("from") in (first_month.isoformat(), [first_month.isoformat()])


def test_unknown_values_in_the_link_are_ignored(real_serving_db: Path) -> None:
    at = run_app({"store": "no-such-store", "from": "not-a-date"})

    assert not at.exception
    assert at.multiselect(key="f_store").value == []


def test_every_page_is_friendly_without_serving_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "serving.duckdb"))
    at = run_app()
    for page in PAGE_FILES:
        open_page(at, page)
        assert not at.exception, page
        assert any("does not exist" in info.value for info in at.info), page


def test_subset_of_stores_sums_money_and_recomputes_ratios() -> None:
    from dashboards.kpis import _combine

    rows = pd.DataFrame(
        [
            (date(2026, 10, 1), "month", metric, None, None, value)
            for metric, value in (("refund_cost", 10.0), ("gross_profit", 100.0), ("cause_coverage", 0.9),
                                  ("refund_cost", 30.0), ("gross_profit", 300.0), ("cause_coverage", 0.5))
        ],
        columns=["period_start", "grain", "metric", "dimension", "dimension_value", "value"],
    )
    combined = _combine(rows).set_index("metric")["value"]

    assert combined["refund_cost"] == 40.0 and combined["gross_profit"] == 400.0
    assert combined["refund_cost_pct_of_profit"] == pytest.approx(0.1)
    assert pd.isna(combined["cause_coverage"])  # a rate cannot be combined from store rates


def test_scope_filters_rows_by_store_and_date() -> None:
    scope = filters.Scope(store_ids=("a",), all_stores=False, start=date(2026, 10, 1), end=date(2026, 10, 31))
    frame = pd.DataFrame({"store_id": ["a", "a", "b"], "local_date": ["2026-10-05", "2026-09-30", "2026-10-05"]})

    assert scope.filter_frame(frame, "local_date")["local_date"].tolist() == ["2026-10-05"]
    assert scope.month_in_range(date(2026, 10, 1)) and not scope.month_in_range(date(2026, 9, 1))


def test_data_health_lists_every_check_of_the_latest_gate_run(real_serving_db: Path) -> None:
    at = open_page(run_app(), "data_health.py")
    assert not at.exception, [e.value for e in at.exception]
    with duckdb.connect(str(real_serving_db), read_only=True) as con:
        expected = con.execute(
            "select check_name, passed from marts.data_completeness "
            "where run_id = (select run_id from marts.data_completeness order by as_of desc limit 1)"
        ).df()
    assert len(expected) >= 5
    shown = next(frame.value for frame in at.dataframe if "check_name" in frame.value.columns)
    assert sorted(shown["check_name"]) == sorted(expected["check_name"])
    assert dict(zip(shown["check_name"], shown["passed"].astype(bool), strict=True)) == dict(
        zip(expected["check_name"], expected["passed"].astype(bool), strict=True))
    assert f"{len(expected)} checks" in " ".join(c.value for c in at.caption)


def month_bounds(serving: Path) -> tuple[date, date]:
    """The default date range of the filters: first day of the first KPI month to the last day of the last."""
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(
            "select min(period_start), last_day(max(period_start)) from marts.kpis "
            "where grain = 'month' and store_id is null and dimension is null"
        ).fetchone()


def frame_with(at: AppTest, columns: set[str]) -> pd.DataFrame:
    """The one table on the page that has all of ``columns``."""
    frames = [f.value for f in at.dataframe if columns <= set(f.value.columns)]
    assert len(frames) == 1, (columns, [list(f.value.columns) for f in at.dataframe])
    return frames[0]


# page -> (mart, its date column or None, the columns that identify a row)
PAGE_MARTS = {
    "fulfilment.py": [("open_orders", None, ["order_id"]), ("orders_sla", "period_start", ["order_id"]),
                      ("supplier_sla", "period_start", ["order_line_id"])],
    "carriers.py": [("carrier_performance", "delivery_period_start", ["tracking_id"]),
                    ("carrier_claims", "period_start", ["tracking_id", "claim_type"])],
}


@pytest.mark.parametrize("page", sorted(PAGE_MARTS))
def test_fulfilment_and_carrier_pages_show_their_marts_rows(real_serving_db: Path, page: str) -> None:
    at = open_page(run_app(), page)
    assert not at.exception, [e.value for e in at.exception]
    first, last = month_bounds(real_serving_db)
    for mart, date_column, key in PAGE_MARTS[page]:
        columns = list(data.run_query(f"mart_{mart}").columns)
        where = "" if date_column is None else f"where {date_column} between ? and ?"  # names from the test itself
        with duckdb.connect(str(real_serving_db), read_only=True) as con:
            expected = con.execute(f"select * from marts.{mart} {where}", [] if date_column is None
                                   else [first, last]).df()
        shown = frame_with(at, set(columns))
        assert list(shown.columns) == columns, mart
        assert len(shown) == len(expected), mart
        assert sorted(map(tuple, shown[key].astype(str).to_numpy())) == sorted(
            map(tuple, expected[key].astype(str).to_numpy())), mart
    if page == "fulfilment.py":
        shown = frame_with(at, {"open_age_business_hours", "aging_bucket"})
        ages = shown["open_age_business_hours"].tolist()
        assert ages == sorted(ages, reverse=True)  # the list starts with the oldest open order


def test_refund_page_by_cause_preventable_and_unknown_share_equal_marts_kpis(real_serving_db: Path) -> None:
    at = open_page(run_app(), "refunds.py")
    assert not at.exception, [e.value for e in at.exception]
    with duckdb.connect(str(real_serving_db), read_only=True) as con:
        causes = con.execute(
            "select dimension_value as cause, sum(value) as refund_cost from marts.kpis "
            "where metric = 'refund_cost' and dimension = 'cause' and store_id is null and grain = 'month' "
            "group by 1 having sum(value) <> 0 order by 2 desc, 1").df()
        monthly = con.execute(
            "select period_start, "
            "max(value) filter (where metric = 'refund_cost') as refund_cost, "
            "max(value) filter (where metric = 'preventable_refund_cost') as preventable_refund_cost, "
            "1 - max(value) filter (where metric = 'cause_coverage') as unknown_cause_share "
            "from marts.kpis where store_id is null and dimension is null and grain = 'month' "
            "group by 1 order by 1").df()
    assert len(causes) >= 2 and len(monthly) >= 2  # otherwise the comparisons below would prove little

    shown = frame_with(at, {"cause", "refund_cost", "refund_cost_share"})
    assert shown["cause"].tolist() == causes["cause"].tolist()
    assert shown["refund_cost"].tolist() == pytest.approx(causes["refund_cost"].tolist())
    assert shown["refund_cost_share"].sum() == pytest.approx(1.0)

    split = frame_with(at, {"preventable_refund_cost", "not_preventable_refund_cost"})
    assert split["preventable_refund_cost"].tolist() == pytest.approx(monthly["preventable_refund_cost"].tolist())
    assert (split["refund_cost"] - split["not_preventable_refund_cost"]).tolist() == pytest.approx(
        monthly["preventable_refund_cost"].tolist())

    unknown = frame_with(at, {"unknown_cause_share"})
    expected = monthly.dropna(subset=["unknown_cause_share"])
    assert unknown["unknown_cause_share"].tolist() == pytest.approx(expected["unknown_cause_share"].tolist())
    month = pd.Timestamp(latest_complete_month(real_serving_db))
    latest = expected[expected["period_start"] == month].iloc[0]
    sentence = " ".join(m.value for m in at.markdown if "Unknown-cause share" in m.value)
    assert f"{fmt_value(latest['unknown_cause_share'], 'pct', 'USD')}** of refund cost" in sentence


def test_where_it_leaks_shows_the_leak_marts(real_serving_db: Path) -> None:
    at = open_page(run_app(), "where_it_leaks.py")
    assert not at.exception, [e.value for e in at.exception]
    marts = published_marts(real_serving_db)
    notes = " ".join(i.value for i in at.info)
    if "leakage_concentration" not in marts:
        assert "marts.leakage_concentration" in notes
        return
    with duckdb.connect(str(real_serving_db), read_only=True) as con:
        expected = con.execute(
            "select dimension_value, leak_cost, share, cumulative_share, pareto_rank "
            "from marts.leakage_concentration where time_window = 'last_full_month' and dimension = 'supplier' "
            "and leak_cost > 0 order by pareto_rank").df()
    assert not expected.empty
    shown = frame_with(at, {"pareto_rank", "cumulative_share"})
    assert shown["supplier"].tolist() == expected["dimension_value"].tolist()
    for column in ("leak_cost", "share", "cumulative_share", "pareto_rank"):
        assert shown[column].tolist() == pytest.approx(expected[column].tolist()), column
    if "fix_candidates" not in marts:
        assert "marts.fix_candidates" in notes
        return
    with duckdb.connect(str(real_serving_db), read_only=True) as con:
        candidates = con.execute(
            "select dimension, dimension_value, excess_leak from marts.fix_candidates "
            "where time_window = 'last_full_month' order by excess_leak desc").df()
    if candidates.empty:
        assert "No fix candidate" in notes
        return
    table = frame_with(at, {"estimated_monthly_saving"})
    assert table["dimension_value"].tolist() == candidates["dimension_value"].tolist()
    assert table["estimated_monthly_saving"].tolist() == pytest.approx(candidates["excess_leak"].tolist())
    top = " ".join(m.value for m in at.markdown if "Top fix" in m.value)
    assert f"**{candidates['dimension_value'].iloc[0]}**" in top
