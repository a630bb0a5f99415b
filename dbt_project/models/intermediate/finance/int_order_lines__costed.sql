-- One row per line of a paid order: net merchandise revenue and COGS, each converted at the paid local date
-- and rounded to cents at this grain (METRICS.md §0, §2).
with

orders as (

    select * from {{ ref('int_orders__paid') }}

),

lines as (

    select * from {{ ref('stg_shopify__order_lines') }}

),

catalog as (

    select * from {{ ref('stg_sheets__sku_catalog') }}

),

fx as (

    select * from {{ ref('int_fx__daily_rates') }}

),

joined as (

    select
        lines.order_line_id,
        lines.order_id,
        orders.store_id,
        orders.period_start,
        orders.paid_local_date,
        lines.sku,
        catalog.supplier_id,
        lines.quantity,
        lines.currency,
        lines.unit_price * lines.quantity - lines.discount_amount as net_revenue_local,
        catalog.unit_cogs * lines.quantity as cogs_original,
        catalog.cogs_currency,
        sale_fx.rate_to_reporting as sale_rate,
        cogs_fx.rate_to_reporting as cogs_rate

    from lines
    inner join orders
        on lines.order_id = orders.order_id
    left join catalog
        on lines.sku = catalog.sku
    left join fx as sale_fx
        on
            lines.currency = sale_fx.currency
            and orders.paid_local_date = sale_fx.rate_date
    left join fx as cogs_fx
        on
            catalog.cogs_currency = cogs_fx.currency
            and orders.paid_local_date = cogs_fx.rate_date

),

final as (

    select
        order_line_id,
        order_id,
        store_id,
        period_start,
        paid_local_date,
        sku,
        supplier_id,
        quantity,
        currency,
        cast(net_revenue_local as decimal(18, 2)) as net_revenue_local,
        {{ to_cents('net_revenue_local * sale_rate') }} as net_revenue,
        cogs_currency,
        -- an unmapped SKU costs 0 here; the completeness gate blocks publishing and names it
        coalesce({{ to_cents('cogs_original * cogs_rate') }}, 0) as cogs

    from joined

)

select * from final
