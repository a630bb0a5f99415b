"""The data-access module, the chart builders and the sentence builder, without running the page."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import altair as alt
import duckdb
import pandas as pd
import pytest

from dashboards import charts, data, narrative
from dashboards.formatting import fmt_money, fmt_pct, fmt_target

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import ServingDb


def portfolio_value(metric: str, month: date) -> float:
    """One portfolio KPI value through the data module."""
    frame = data.run_query("portfolio_kpis")
    match = frame[(frame["metric"] == metric) & (frame["period_start"] == pd.Timestamp(month))]
    return float(match["value"].iloc[0])


QUERY_PARAMS = {
    "leakage_by_cause": {"period_start": date(2026, 10, 1), "store_id": None},
    "leakage_in_range": {"start": date(2026, 9, 1), "end": date(2026, 10, 31)},
    "kpi_values": {"metrics": ["refund_cost"], "all_stores": True, "store_ids": []},
}


def test_every_query_runs_on_the_fixture_or_names_its_missing_mart(serving_db: ServingDb) -> None:
    published = data.mart_columns()
    for path in sorted(data.QUERIES_DIR.glob("*.sql")):
        marts = set(re.findall(r"\bmarts\.(\w+)", path.read_text()))
        if not marts <= set(published):
            with pytest.raises(data.ServingDbSchemaError):
                data.run_query(path.stem, QUERY_PARAMS.get(path.stem))
            continue
        assert isinstance(data.run_query(path.stem, QUERY_PARAMS.get(path.stem)), pd.DataFrame), path.name


def test_kpi_values_binds_store_lists(serving_db: ServingDb) -> None:
    params = {"metrics": ["refund_cost"], "all_stores": False, "store_ids": ["north-us"]}
    rows = data.run_query("kpi_values", params)
    assert set(rows["store_id"]) == {"north-us"}
    total = rows[rows["dimension"].isna() & (rows["period_start"] == pd.Timestamp(serving_db.latest))]["value"]
    assert total.tolist() == [pytest.approx(serving_db.refund_cost(serving_db.latest, "north-us"))]
    assert data.run_query("kpi_values", {**params, "store_ids": ["x' or '1'='1"]}).empty


def test_sql_files_have_no_python_placeholders() -> None:
    for path in data.QUERIES_DIR.glob("*.sql"):
        text = path.read_text()
        assert "{" not in text and "%s" not in text, path.name


def test_months_marks_completeness(serving_db: ServingDb, make_serving_db: Callable[..., ServingDb]) -> None:
    months = data.run_query("months")
    assert months["is_complete"].tolist() == [True, True]
    make_serving_db(as_of=pd.Timestamp("2026-10-15 03:00").to_pydatetime(), name="partial.duckdb")
    months = data.run_query("months")
    assert [d.date() for d in months["period_start"]] == [serving_db.latest, serving_db.previous]
    assert months["is_complete"].tolist() == [False, True]


def test_unknown_query_name_is_rejected() -> None:
    with pytest.raises(ValueError):
        data.load_sql("../secrets")
    with pytest.raises(ValueError):
        data.load_sql("no_such_query")


def _copy_with_changed_cost(source: Path, target: Path) -> Path:
    """Write a copy of ``source`` to ``target`` whose portfolio refund cost is 1000 higher."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as src (read_only)")  # test-only literal path from tmp_path
        con.execute("copy from database src to staged")
        con.execute("detach src")
        con.execute(
            "update marts.kpis set value = value + 1000 "
            "where metric = 'refund_cost' and store_id is null and dimension is null"
        )
    return target


def test_new_publish_is_seen_without_restart(serving_db: ServingDb, tmp_path: Path) -> None:
    """The pipeline publishes with os.replace; the cache key (file version) must change with it."""
    before = portfolio_value("refund_cost", serving_db.latest)
    assert portfolio_value("refund_cost", serving_db.latest) == before  # served from the cache

    os.replace(_copy_with_changed_cost(serving_db.path, tmp_path / "staged.duckdb"), serving_db.path)

    assert portfolio_value("refund_cost", serving_db.latest) == before + 1000


def test_missing_file_raises_specific_error_after_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "serving.duckdb"))
    sleeps: list[float] = []
    monkeypatch.setattr(data.time, "sleep", sleeps.append)

    with pytest.raises(data.ServingDbMissing):
        data.run_query("months")

    assert sleeps == [data.RETRY_DELAY_S]


def test_file_appearing_during_retry_is_read(
    make_serving_db: Callable[..., ServingDb], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulates a publish that lands while the first attempt finds no file."""
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "serving.duckdb"))
    monkeypatch.setattr(data.time, "sleep", lambda _seconds: make_serving_db())

    months = data.run_query("months")

    assert len(months) == 2


def test_schema_mismatch_raises_schema_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "serving.duckdb"
    duckdb.connect(str(empty)).close()
    monkeypatch.setenv(data.ENV_VAR, str(empty))

    with pytest.raises(data.ServingDbSchemaError):
        data.run_query("months")


def test_relative_env_path_is_resolved_from_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_VAR, "var/other.duckdb")
    assert data.serving_db_path() == data.PROJECT_ROOT / "var" / "other.duckdb"
    monkeypatch.delenv(data.ENV_VAR)
    assert data.serving_db_path() == data.PROJECT_ROOT / "var" / "serving.duckdb"


def test_cause_chart_has_bars_and_target_rule(serving_db: ServingDb) -> None:
    rows = data.run_query("leakage_by_cause", {"period_start": serving_db.latest, "store_id": None})

    chart = charts.refund_pct_by_cause_chart(rows, 0.05, "USD")

    spec = chart.to_dict()
    bars, target = spec["layer"]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["field"] == "refund_cost_pct_of_profit"
    assert bars["encoding"]["color"]["field"] == "cause_label"
    assert [layer["mark"]["type"] for layer in target["layer"]] == ["rule", "text"]
    assert [{"target": 0.05, "label": "5 % target"}] in spec["datasets"].values()


def test_trend_chart_is_a_layered_chart() -> None:
    trend = pd.DataFrame({"period_start": pd.to_datetime(["2026-09-01", "2026-10-01"]), "value": [0.04, 0.07]})
    assert isinstance(charts.portfolio_trend_chart(trend, 0.05), alt.LayerChart)


def test_headline_without_profit_or_refunds() -> None:
    month = date(2026, 10, 1)
    target = narrative.Target("refund_cost_pct_of_profit", 0.05, "max")
    no_profit = narrative.MonthKpis(month, True, {"refund_cost": 120.0, "refund_cost_pct_of_profit": None})

    text = narrative.headline(no_profit, None, None, target, "USD")

    assert text == (
        "In **October 2026** refunds cost **US\\$ 120** across the portfolio, with no gross profit to measure "
        "them against; no refunds were recorded."
    )


def test_formatting() -> None:
    assert fmt_pct(0.0791) == "7.9 %"
    assert fmt_pct(float("nan")) == "—"
    assert fmt_target(0.05) == "5 %" and fmt_target(0.025) == "2.5 %"
    assert fmt_money(4210.4, "USD") == "US$ 4,210"
    assert fmt_money(-120, "GBP") == "-£120"
    assert fmt_money(-0.2, "USD") == "US$ 0"
    assert fmt_money(5, "SEK") == "SEK 5"
