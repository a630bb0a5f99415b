-- One row per paid order: revenue, shipping, COGS and gross profit in the reporting currency (METRICS.md §2).
with

orders as (

    select * from {{ ref('int_orders__paid') }}

),

lines as (

    select * from {{ ref('int_order_lines__costed') }}

),

fx as (

    select * from {{ ref('int_fx__daily_rates') }}

),

line_totals as (

    select
        order_id,
        sum(net_revenue) as net_revenue,
        sum(cogs) as cogs

    from lines
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.store_id,
        orders.period_start,
        orders.paid_at,
        orders.paid_local_date,
        orders.currency,
        coalesce(line_totals.net_revenue, 0) as net_revenue,
        {{ to_cents('orders.shipping_amount * fx.rate_to_reporting') }} as shipping_revenue,
        coalesce(line_totals.cogs, 0) as cogs

    from orders
    left join line_totals
        on orders.order_id = line_totals.order_id
    left join fx
        on
            orders.currency = fx.currency
            and orders.paid_local_date = fx.rate_date

)

select
    *,
    cast(net_revenue + shipping_revenue - cogs as decimal(18, 2)) as gross_profit
from final
