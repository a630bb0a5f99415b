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
