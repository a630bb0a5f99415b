"""The source-level completeness checks (METRICS.md §12): freshness per source, fulfillment and charge
referential integrity, tracking coverage, raw duplicates and the raw schema contract. Each passes on complete
data and fails, naming the record, on the defect it guards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dlt
import duckdb
import pytest

from expectations.raw_schema import DUCKDB_TYPES, declared_columns
from expectations.runner import run_check
from expectations.suites import CHECKS

AS_OF = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
CHECK = {check.name: check for check in CHECKS}


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path))


def _fresh_sources(path: Path, stripe_age_hours: float = 2) -> Path:
    con = _connect(path)
    con.execute("create schema raw_stripe; create schema raw_aftership")
    con.execute("create table raw_stripe.charges as select 'ch_1' as id, ? - to_hours(?) as created",
                [AS_OF, int(stripe_age_hours)])
    con.execute("create table raw_aftership.trackings as select 't1' as id, ? - interval 1 hour as updated_at",
                [AS_OF])
    con.close()
    return path


def test_each_source_is_fresh_or_skipped_when_not_loaded(tmp_path: Path) -> None:
    warehouse = _fresh_sources(tmp_path / "w.duckdb")
    stripe = run_check(CHECK["stripe_fresh"], warehouse, AS_OF)
    assert stripe.passed and stripe.observed.startswith("stripe 2.0 h since"), stripe.summary()
    assert run_check(CHECK["aftership_fresh"], warehouse, AS_OF).passed
    reamaze = run_check(CHECK["reamaze_fresh"], warehouse, AS_OF)
    assert reamaze.passed and reamaze.observed.startswith("source not loaded"), reamaze.summary()


def test_a_stale_source_warns(tmp_path: Path) -> None:
    outcome = run_check(CHECK["stripe_fresh"], _fresh_sources(tmp_path / "w.duckdb", stripe_age_hours=30), AS_OF)
    assert not outcome.passed and outcome.check.severity == "warn"
    assert outcome.failing_keys == ["stripe"] and "30.0 h" in outcome.observed
    assert CHECK["orders_fresh"].severity == "block", "Shopify's freshness keeps blocking"


def _shop(path: Path, *, orphan_fulfillment: bool = False, tracking_delay_hours: float = 0.5,
          tracking_number: str = "TN1") -> Path:
    """Two orders; one fulfillment 3 days old (tracked after `tracking_delay_hours`) and one 2 h old, untracked."""
    con = _connect(path)
    con.execute("create schema staging; create schema intermediate")
    con.execute("create table staging.stg_shopify__orders as select * from (values ('o1'), ('o2')) as t(order_id)")
    con.execute("create table staging.stg_shopify__fulfillments (fulfillment_id varchar, order_id varchar, "
                "tracking_number varchar, created_at timestamptz)")
    shipped = AS_OF - timedelta(days=3)
    con.execute("insert into staging.stg_shopify__fulfillments values ('f1', ?, ?, ?), ('f2', 'o2', null, ?)",
                ["o-missing" if orphan_fulfillment else "o1", tracking_number, shipped, AS_OF - timedelta(hours=2)])
    con.execute("create table staging.stg_aftership__trackings as select 'trk1' as tracking_id, "
                "'TN1' as tracking_number, cast(? as timestamptz) as created_at",
                [shipped + timedelta(minutes=int(tracking_delay_hours * 60))])
    con.execute("""create table intermediate.int_payments__charges_mapped as select * from (values
                   ('ch_1', 'lumen-au.myshopify.com', '#1001', 'o1'),
                   ('ch_2', 'lumen-au.myshopify.com', '#9999', null),
                   ('ch_3', null, null, null)) as t(charge_id, shopify_shop_domain, shopify_order_name, order_id)""")
    con.close()
    return path


def test_fulfillments_map_to_orders(tmp_path: Path) -> None:
    assert run_check(CHECK["fulfillments_map_to_orders"], _shop(tmp_path / "a.duckdb"), AS_OF).passed
    outcome = run_check(CHECK["fulfillments_map_to_orders"], _shop(tmp_path / "b.duckdb", orphan_fulfillment=True),
                        AS_OF)
    assert not outcome.passed and outcome.check.severity == "block"
    assert outcome.failing_keys == ["fulfillment f1 (order o-missing)"]


def test_a_charge_naming_an_unknown_order_warns_and_one_naming_none_is_not_checked(tmp_path: Path) -> None:
    outcome = run_check(CHECK["charges_map_to_orders"], _shop(tmp_path / "w.duckdb"), AS_OF)
    assert not outcome.passed and outcome.check.severity == "warn"
    assert outcome.failing_keys == ["charge ch_2 (lumen-au.myshopify.com #9999)"]
    assert outcome.observed.startswith("1 of 2 rows failing"), outcome.observed


@pytest.mark.parametrize(("delay", "number", "passed"), [(0.5, "TN1", True), (30, "TN1", False), (0.5, "", False)])
def test_fulfillments_need_a_tracking_number_and_a_tracking_within_24_h(tmp_path: Path, delay: float, number: str,
                                                                      passed: bool) -> None:
    warehouse = _shop(tmp_path / "w.duckdb", tracking_delay_hours=delay, tracking_number=number)
    outcome = run_check(CHECK["fulfillments_tracked"], warehouse, AS_OF)
    assert outcome.passed is passed, outcome.summary()
    assert outcome.failing_keys == ([] if passed else ["fulfillment f1"]), "f2 is younger than 24 h: not yet due"


def test_records_delivered_twice_in_the_latest_load_are_caught_before_the_merge(tmp_path: Path) -> None:
    """Through dlt itself: a merge load keeps one row per key in the raw table, and the check reads dlt's staging
    copy of the load, where the repeat still is."""
    warehouse = tmp_path / "w.duckdb"

    def load(rows: list[dict]) -> None:
        pipeline = dlt.pipeline(pipeline_name="dup_test", destination=dlt.destinations.duckdb(str(warehouse)),
                                dataset_name="raw_shopify", pipelines_dir=str(tmp_path / "dlt"))
        pipeline.run(dlt.resource(rows, name="fulfillments", primary_key="id", write_disposition="merge"))

    load([{"id": "f1", "n": 1}, {"id": "f2", "n": 1}, {"id": "f2", "n": 1}])
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from raw_shopify.fulfillments").fetchone()[0] == 2, "the merge dedups"
    con.close()
    outcome = run_check(CHECK["raw_records_unique"], warehouse, AS_OF)
    assert not outcome.passed and outcome.check.severity == "warn"
    assert outcome.failing_keys == ["raw_shopify.fulfillments"]
    assert "raw_shopify.fulfillments 1 of 3 rows repeat a key" in outcome.observed
    load([{"id": "f3", "n": 2}])  # the next load repeats nothing: the earlier repeat is not reported again
    assert run_check(CHECK["raw_records_unique"], warehouse, AS_OF).passed


def _raw_tables(path: Path, *, drop: str | None = None, retype: str | None = None,
                extra: dict[str, str] | None = None) -> Path:
    """raw_stripe.charges and raw_aftership.trackings as the sources declare them, changed as asked."""
    declared = declared_columns()
    con = _connect(path)
    for source, table in (("stripe", "charges"), ("aftership", "trackings")):
        columns = {name: DUCKDB_TYPES[hint["data_type"]].replace("DECIMAL", "DECIMAL(18, 2)")
                   for name, hint in declared[source][table].items() if name != drop}
        if retype in columns:
            columns[retype] = "VARCHAR" if columns[retype] != "VARCHAR" else "BIGINT"
        if source == "aftership":
            columns |= extra or {}
        con.execute(f"create schema if not exists raw_{source}")
        con.execute(f"create table raw_{source}.{table} ("
                    + ", ".join(f'"{name}" {kind}' for name, kind in {**columns, "_dlt_id": "VARCHAR"}.items()) + ")")
    con.close()
    return path


def test_the_declared_schema_passes_and_api_model_fields_are_not_new(tmp_path: Path) -> None:
    warehouse = _raw_tables(tmp_path / "w.duckdb", extra={"on_time_status": "VARCHAR",
                                                          "latest_estimated_delivery__datetime": "VARCHAR"})
    assert run_check(CHECK["raw_schema_unchanged"], warehouse, AS_OF).passed
    assert run_check(CHECK["raw_schema_no_new_fields"], warehouse, AS_OF).passed


@pytest.mark.parametrize(("change", "problem"), [
    ({"drop": "amount"}, "raw_stripe.charges.amount missing"),
    ({"retype": "amount"}, "raw_stripe.charges.amount is VARCHAR, expected BIGINT"),
    ({"extra": {"amount__v_json": "JSON"}}, None),
])
def test_a_missing_or_retyped_declared_column_blocks(tmp_path: Path, change: dict, problem: str | None) -> None:
    if "extra" in change:  # a variant column: values of `amount` that arrived with another type
        warehouse = _raw_tables(tmp_path / "w.duckdb")
        con = _connect(warehouse)
        con.execute("alter table raw_stripe.charges add column amount__v_json json")
        con.close()
        problem = "raw_stripe.charges.amount values arrived as json (variant column amount__v_json)"
    else:
        warehouse = _raw_tables(tmp_path / "w.duckdb", **change)
    outcome = run_check(CHECK["raw_schema_unchanged"], warehouse, AS_OF)
    assert not outcome.passed and outcome.check.severity == "block"
    assert outcome.failing_keys == ["raw_stripe.charges.amount"]
    assert problem in outcome.observed, outcome.observed


def test_an_unknown_field_warns(tmp_path: Path) -> None:
    warehouse = _raw_tables(tmp_path / "w.duckdb", extra={"x_emulator_drift__note": "VARCHAR"})
    outcome = run_check(CHECK["raw_schema_no_new_fields"], warehouse, AS_OF)
    assert not outcome.passed and outcome.check.severity == "warn"
    assert outcome.failing_keys == ["raw_aftership.trackings"]
    assert "raw_aftership.trackings: x_emulator_drift__note" in outcome.observed
    assert run_check(CHECK["raw_schema_unchanged"], warehouse, AS_OF).passed, "an added field does not block"
