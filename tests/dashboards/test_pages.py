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
