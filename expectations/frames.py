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
            select currency, local_date from intermediate.int_refunds__costed where currency is not null
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
