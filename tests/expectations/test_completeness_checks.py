"""Each data-completeness check passes on complete data and fails, naming the record, on the defect it guards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from expectations.runner import run_check
from expectations.suites import CHECKS

AS_OF = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
CHECK = {check.name: check for check in CHECKS}


def _warehouse(path: Path, *, orders_per_day: dict[int, int] | None = None, sku: str | None = "SKU-1",
               orphan_refund: bool = False, unknown_cause_share: float = 0.0) -> Path:
    """A minimal warehouse with the tables the checks read: one store in UTC, 40 days of orders."""
    con = duckdb.connect(str(path))
    con.execute("create schema staging; create schema marts")
    con.execute("create table staging.stg_sheets__stores as select 'st-1' as store_id, 'UTC' as timezone")
    con.execute("""create table staging.stg_shopify__orders (order_id varchar, store_id varchar, currency varchar,
                   processed_at timestamptz, created_at timestamptz)""")
    con.execute("create table staging.stg_shopify__order_lines (order_line_id varchar, order_id varchar, sku varchar)")
    con.execute("""create table staging.stg_shopify__transactions (order_id varchar, kind varchar,
                   status varchar)""")
    n = 0
    for day in range(1, 41):
        for _ in range((orders_per_day or {}).get(day, 5)):
            n += 1
            created = AS_OF - timedelta(days=day, hours=-1)
            con.execute("insert into staging.stg_shopify__orders values (?, 'st-1', 'USD', ?, ?)",
                        [f"o{n}", created, created])
            con.execute("insert into staging.stg_shopify__order_lines values (?, ?, ?)", [f"l{n}", f"o{n}", sku])
            con.execute("insert into staging.stg_shopify__transactions values (?, 'SALE', 'SUCCESS')", [f"o{n}"])
    con.execute("create table staging.stg_shopify__refunds as select 'r1' as refund_id, "
                f"'{'o-missing' if orphan_refund else 'o1'}' as order_id")
    con.execute("create table staging.stg_shopify__refund_lines as select 'rl1' as refund_line_id, "
                "'l1' as order_line_id")
    con.execute("create table marts.kpi_targets as select 'cause_coverage' as metric, 0.95 as target")
    con.execute("""create table marts.leak_events as
                   select 'st-1' as store_id, ? - interval 2 day as occurred_at,
                          case when i < ? then 'unknown' else 'tagged' end as cause_source,
                          cast(10 as decimal(18, 2)) as refund_cost
                   from range(100) as t(i)""", [AS_OF, int(unknown_cause_share * 100)])
    con.close()
    return path


@pytest.mark.parametrize("name", ["required_order_fields", "refunds_map_to_orders", "daily_order_volume",
                                  "refund_cause_coverage"])
def test_passes_on_complete_data(tmp_path: Path, name: str) -> None:
    outcome = run_check(CHECK[name], _warehouse(tmp_path / "w.duckdb"), AS_OF)
    assert outcome.passed, outcome.summary()


def test_line_without_sku_fails_required_fields(tmp_path: Path) -> None:
    outcome = run_check(CHECK["required_order_fields"], _warehouse(tmp_path / "w.duckdb", sku=""), AS_OF)
    assert not outcome.passed
    assert "line l1" in outcome.failing_keys


def test_refund_of_unknown_order_fails_referential(tmp_path: Path) -> None:
    outcome = run_check(CHECK["refunds_map_to_orders"], _warehouse(tmp_path / "w.duckdb", orphan_refund=True), AS_OF)
    assert not outcome.passed
    assert outcome.failing_keys == ["refund r1"]


@pytest.mark.parametrize(("day", "count"), [(3, 0), (2, 60)])
def test_a_day_without_orders_or_far_above_the_band_fails_volume(tmp_path: Path, day: int, count: int) -> None:
    warehouse = _warehouse(tmp_path / "w.duckdb", orders_per_day={day: count})
    outcome = run_check(CHECK["daily_order_volume"], warehouse, AS_OF)
    assert not outcome.passed
    assert outcome.failing_keys == [f"st-1 {(AS_OF - timedelta(days=day)).date()}"]


def test_cause_coverage_below_target_warns_with_the_coverage(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path / "w.duckdb", unknown_cause_share=0.2)
    outcome = run_check(CHECK["refund_cause_coverage"], warehouse, AS_OF)
    assert not outcome.passed and outcome.check.severity == "warn"
    assert "st-1 80.0%" in outcome.observed and "target 95%" in outcome.observed


def test_results_are_kept_and_data_docs_build(tmp_path: Path) -> None:
    from expectations.runner import build_data_docs

    warehouse = _warehouse(tmp_path / "w.duckdb", orphan_refund=True)
    gx_root = tmp_path / "gx"
    with pytest.raises(FileNotFoundError, match="run `leakwatch run` first"):
        build_data_docs(gx_root)
    run_check(CHECK["refunds_map_to_orders"], warehouse, AS_OF, gx_root, "run-1")
    run_check(CHECK["required_order_fields"], warehouse, AS_OF, gx_root, "run-1")
    kept = list((gx_root / "gx" / "uncommitted" / "validations").rglob("*.json"))
    assert len(kept) == 2, kept
    index = build_data_docs(gx_root)
    html = index.read_text()
    assert index.name == "index.html" and "refunds_map_to_orders" in html and "required_order_fields" in html
