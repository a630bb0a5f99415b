"""The frames each completeness check validates, read from the warehouse with short read-only connections."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd


def read_frame(warehouse: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def sold_sku_mapping(warehouse: Path) -> pd.DataFrame:
    """One row per SKU sold on a line item, with its catalog supplier and COGS (NULL when unmapped)."""
    return read_frame(warehouse, """
        select
            lines.sku,
            count(*) as line_count,
            max(catalog.supplier_id) as supplier_id,
            max(catalog.unit_cogs) as unit_cogs
        from staging.stg_shopify__order_lines as lines
        left join staging.stg_sheets__sku_catalog as catalog
            on lines.sku = catalog.sku
        group by lines.sku
        order by lines.sku
    """)


def store_freshness(warehouse: Path, as_of: datetime) -> pd.DataFrame:
    """Hours between the run's as-of time and each configured store's newest order update."""
    return read_frame(warehouse, """
        select
            stores.store_id,
            max(orders.updated_at) as newest_updated_at,
            coalesce(date_diff('second', max(orders.updated_at), cast(? as timestamp with time zone)) / 3600.0,
                     1e9) as hours_since_update
        from raw_sheets.stores as stores
        left join raw_shopify.orders as orders
            on stores.store_id = orders.store_id
        group by stores.store_id
        order by stores.store_id
    """, [as_of])


def currency_days_used(warehouse: Path) -> pd.DataFrame:
    """Every currency × local day an amount was converted on, and whether its rate was a fallback."""
    return read_frame(warehouse, """
        with used as (
            select currency, paid_local_date as rate_date from intermediate.int_orders__paid
            union
            select cogs_currency, paid_local_date from intermediate.int_order_lines__costed
            where cogs_currency is not null
            union
            select original_currency, local_date from intermediate.int_leaks__event_sources
            where event_type = 'refund' and original_amount <> 0
        )
        select
            used.currency || ' ' || cast(used.rate_date as varchar) as currency_day,
            coalesce(fx.is_fallback, true) as is_fallback
        from used
        left join intermediate.int_fx__daily_rates as fx
            on used.currency = fx.currency and used.rate_date = fx.rate_date
        order by currency_day
    """)


def missing_required_fields(warehouse: Path) -> pd.DataFrame:
    """One row per order or line item with the required fields it lacks (`missing` NULL when complete)."""
    return read_frame(warehouse, """
        with paid as (
            select distinct order_id
            from staging.stg_shopify__transactions
            where kind in ('SALE', 'CAPTURE') and status = 'SUCCESS'
        ),
        order_problems as (
            select
                'order ' || coalesce(orders.order_id, '(no id)') as record,
                nullif(concat_ws(', ',
                    case when orders.order_id is null then 'order id' end,
                    case when orders.store_id is null then 'store_id' end,
                    case when orders.currency is null then 'currency' end,
                    case when paid.order_id is not null and orders.processed_at is null then 'paid_at' end
                ), '') as missing
            from staging.stg_shopify__orders as orders
            left join paid on orders.order_id = paid.order_id
        ),
        line_problems as (
            select
                'line ' || coalesce(order_line_id, '(no id)') as record,
                case when sku is null or trim(sku) = '' then 'sku' end as missing
            from staging.stg_shopify__order_lines
        )
        select * from order_problems
        union all
        select * from line_problems
        order by record
    """)


def orphan_refunds(warehouse: Path) -> pd.DataFrame:
    """Every refund and refund line with whether its order / line item exists in the warehouse."""
    return read_frame(warehouse, """
        select
            'refund ' || refunds.refund_id as record,
            orders.order_id is not null as maps_to_order
        from staging.stg_shopify__refunds as refunds
        left join staging.stg_shopify__orders as orders
            on refunds.order_id = orders.order_id
        union all
        select
            'refund line ' || refund_lines.refund_line_id,
            lines.order_line_id is not null
        from staging.stg_shopify__refund_lines as refund_lines
        left join staging.stg_shopify__order_lines as lines
            on refund_lines.order_line_id = lines.order_line_id
        order by record
    """)


def daily_order_volume(warehouse: Path, as_of: datetime, window_days: int = 7, band_days: int = 28) -> pd.DataFrame:
    """Orders per store × local day for the last `window_days` complete local days, with the band of the
    `band_days` before them (mean ± 3 standard deviations, at least one order a day)."""
    return read_frame(warehouse, """
        with stores as (
            select store_id, timezone from staging.stg_sheets__stores
        ),
        as_of_local as (
            select
                store_id,
                cast({{local}} as date) as today
            from stores
        ),
        days as (
            select
                as_of_local.store_id,
                cast(day as date) as local_date,
                cast(day as date) >= as_of_local.today - ? as in_window
            from as_of_local,
                generate_series(as_of_local.today - (? + ?), as_of_local.today - 1, interval 1 day) as g(day)
        ),
        counts as (
            select
                orders.store_id,
                cast(timezone(stores.timezone, orders.created_at) as date) as local_date,
                count(*) as orders
            from staging.stg_shopify__orders as orders
            inner join stores on orders.store_id = stores.store_id
            group by 1, 2
        ),
        daily as (
            select
                days.store_id,
                days.local_date,
                days.in_window,
                coalesce(counts.orders, 0) as orders
            from days
            left join counts
                on days.store_id = counts.store_id and days.local_date = counts.local_date
        ),
        band as (
            select
                store_id,
                avg(orders) as mean_orders,
                coalesce(stddev_samp(orders), 0) as sd_orders
            from daily
            where not in_window
            group by store_id
        )
        select
            daily.store_id || ' ' || cast(daily.local_date as varchar) as store_day,
            daily.orders,
            greatest(1, floor(band.mean_orders - 3 * band.sd_orders)) as band_low,
            ceil(band.mean_orders + 3 * band.sd_orders) as band_high,
            daily.orders between greatest(1, floor(band.mean_orders - 3 * band.sd_orders))
                and ceil(band.mean_orders + 3 * band.sd_orders) as within_band
        from daily
        inner join band on daily.store_id = band.store_id
        where daily.in_window
        order by store_day
    """.replace("{{local}}", "timezone(timezone, cast(? as timestamp with time zone))"),
        [as_of, window_days, band_days, window_days])


def refund_cause_coverage(warehouse: Path, as_of: datetime, window_days: int = 28) -> pd.DataFrame:
    """Per store, the share of leak cost of the last `window_days` days with a known cause, and the target."""
    return read_frame(warehouse, """
        with target as (
            select coalesce(max(case when metric = 'cause_coverage' then target end), 0.95) as target
            from marts.kpi_targets
        ),
        recent as (
            select store_id, cause_source, refund_cost
            from marts.leak_events
            where occurred_at > cast(? as timestamp with time zone) - to_days(?)
                and occurred_at <= cast(? as timestamp with time zone)
        )
        select
            store_id,
            sum(refund_cost) as leak_cost,
            sum(case when cause_source != 'unknown' then refund_cost else 0 end) / nullif(sum(refund_cost), 0)
                as cause_coverage,
            max(target.target) as target,
            coalesce(sum(case when cause_source != 'unknown' then refund_cost else 0 end)
                / nullif(sum(refund_cost), 0) >= max(target.target), true) as meets_target
        from recent, target
        group by store_id
        order by store_id
    """, [as_of, window_days, as_of])


def relation_exists(warehouse: Path, schema: str, table: str) -> bool:
    frame = read_frame(warehouse, "select count(*) as n from duckdb_tables() where schema_name = ? and table_name = ?",
                       [schema, table])
    views = read_frame(warehouse, "select count(*) as n from duckdb_views() where schema_name = ? and view_name = ?",
                       [schema, table])
    return bool(frame["n"].iloc[0] or views["n"].iloc[0])


def source_freshness(warehouse: Path, as_of: datetime, source: str, table: str, column: str) -> pd.DataFrame:
    """One row for `source`: its newest `column` in `raw_<source>.<table>` and the hours since, at the as-of time.
    No row when the source is not loaded into this warehouse (not configured)."""
    if not relation_exists(warehouse, f"raw_{source}", table):
        return pd.DataFrame({"source": pd.Series(dtype=str), "newest": pd.Series(dtype="datetime64[ns, UTC]"),
                             "hours_since_update": pd.Series(dtype=float)})
    return read_frame(warehouse, f"""
        select
            ? as source,
            max({column}) as newest,
            coalesce(date_diff('second', max({column}), cast(? as timestamp with time zone)) / 3600.0, 1e9)
                as hours_since_update
        from raw_{source}.{table}
        where {column} <= cast(? as timestamp with time zone)
    """, [source, as_of, as_of])


def orphan_fulfillments(warehouse: Path) -> pd.DataFrame:
    """Every Shopify fulfillment with whether its order exists in the warehouse."""
    return read_frame(warehouse, """
        select
            'fulfillment ' || fulfillments.fulfillment_id || ' (order ' || coalesce(fulfillments.order_id, '?')
                || ')' as record,
            orders.order_id is not null as maps_to_order
        from staging.stg_shopify__fulfillments as fulfillments
        left join staging.stg_shopify__orders as orders
            on fulfillments.order_id = orders.order_id
        order by record
    """)


def orphan_charges(warehouse: Path) -> pd.DataFrame:
    """Every Stripe charge created by the as-of time that names a Shopify order (metadata.shopify_order), with
    whether that order exists (the store of the account's brand with that shop domain, the order of that name)."""
    if not relation_exists(warehouse, "intermediate", "int_payments__charges_mapped"):
        return pd.DataFrame({"record": pd.Series(dtype=str), "maps_to_order": pd.Series(dtype=bool)})
    return read_frame(warehouse, """
        select
            'charge ' || charge_id || ' (' || coalesce(shopify_shop_domain, '?') || ' ' || shopify_order_name || ')'
                as record,
            order_id is not null as maps_to_order
        from intermediate.int_payments__charges_mapped
        where shopify_order_name is not null
        order by record
    """)


def fulfillment_tracking(warehouse: Path, as_of: datetime, within_hours: int) -> pd.DataFrame:
    """Every fulfillment created at least `within_hours` before the as-of time, with whether it has a tracking
    number and an AfterShip tracking of that number created within `within_hours` of the fulfillment."""
    return read_frame(warehouse, """
        with due as (
            select fulfillment_id, tracking_number, created_at
            from staging.stg_shopify__fulfillments
            where created_at <= cast(? as timestamp with time zone) - to_hours(?)
        ),
        tracked as (
            select
                due.fulfillment_id,
                count(trackings.tracking_id) > 0 as has_tracking
            from due
            left join staging.stg_aftership__trackings as trackings
                on due.tracking_number = trackings.tracking_number
                and trackings.created_at <= due.created_at + to_hours(?)
            group by due.fulfillment_id
        )
        select
            'fulfillment ' || due.fulfillment_id as record,
            nullif(trim(due.tracking_number), '') is not null as has_tracking_number,
            tracked.has_tracking,
            nullif(trim(due.tracking_number), '') is not null and tracked.has_tracking as covered
        from due
        inner join tracked on due.fulfillment_id = tracked.fulfillment_id
        order by record
    """, [as_of, within_hours, within_hours])


def _dlt_primary_keys(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, list[str]]:
    """Primary-key columns per table, from the newest dlt schema stored in `<dataset>._dlt_version`."""
    import json

    row = con.execute(f"select schema from {dataset}._dlt_version order by inserted_at desc limit 1").fetchone()
    if row is None:
        return {}
    tables = json.loads(row[0]).get("tables", {})
    return {name: [c for c, spec in table.get("columns", {}).items() if spec.get("primary_key")]
            for name, table in tables.items() if not name.startswith("_dlt")}


def duplicate_keys(warehouse: Path, sources: tuple[str, ...]) -> pd.DataFrame:
    """Per merged raw table: rows and distinct primary keys the latest load delivered, before dlt's merge keeps
    one row per key. dlt keeps each load's rows in `raw_<source>_staging.<table>` until the next load."""
    rows = []
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        existing = {(s, t) for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
        for source in sources:
            dataset, staging = f"raw_{source}", f"raw_{source}_staging"
            if (dataset, "_dlt_version") not in existing or (dataset, "_dlt_loads") not in existing:
                continue
            latest = con.execute(f"select max(load_id) from {dataset}._dlt_loads where status = 0").fetchone()[0]
            for table, key in sorted(_dlt_primary_keys(con, dataset).items()):
                if not key or (staging, table) not in existing:
                    continue
                key_sql = ", ".join(f'"{c}"' for c in key)
                total, distinct = con.execute(f"""
                    select count(*), count(distinct ({key_sql}))
                    from {staging}."{table}"
                    where _dlt_load_id = ?
                """, [latest]).fetchone()
                rows.append({"table": f"{dataset}.{table}", "primary_key": ", ".join(key), "rows": total,
                             "duplicate_rows": total - distinct})
    finally:
        con.close()
    return pd.DataFrame(rows, columns=["table", "primary_key", "rows", "duplicate_rows"])
