-- One row per paid order: revenue, shipping, COGS, outbound label cost, Stripe fees and gross profit in the
-- reporting currency (METRICS.md §2; sandbox/world/leaks.md "Full gross profit"). Every amount is converted at
-- the paid local date (the profit bucket), rounded to cents per source amount (line, label, balance transaction).
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

labels as (

    select * from {{ ref('int_leaks__labels') }}
    where label_kind = 'fulfilment'

),

charges as (

    select * from {{ ref('int_payments__charges_mapped') }}
    where
        is_succeeded
        and order_id is not null

),

balance_transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}
    where
        transaction_type = 'charge'
        and created_at <= {{ as_of_ts() }}

),

line_totals as (

    select
        order_id,
        sum(net_revenue) as net_revenue,
        sum(cogs) as cogs

    from lines
    group by order_id

),

label_costs as (

    select
        orders.order_id,
        sum({{ to_cents('labels.label_cost_amount * fx.rate_to_reporting') }}) as label_cost

    from labels
    inner join orders
        on labels.order_id = orders.order_id
    left join fx
        on
            labels.currency = fx.currency
            and orders.paid_local_date = fx.rate_date
    group by orders.order_id

),

payment_fees as (

    select
        orders.order_id,
        sum({{ to_cents('balance_transactions.fee * fx.rate_to_reporting') }}) as payment_fees

    from balance_transactions
    inner join charges
        on balance_transactions.charge_id = charges.charge_id
    inner join orders
        on charges.order_id = orders.order_id
    left join fx
        on
            balance_transactions.currency = fx.currency
            and orders.paid_local_date = fx.rate_date
    group by orders.order_id

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
        coalesce(line_totals.cogs, 0) as cogs,
        coalesce(label_costs.label_cost, 0) as label_cost,
        coalesce(payment_fees.payment_fees, 0) as payment_fees

    from orders
    left join line_totals
        on orders.order_id = line_totals.order_id
    left join label_costs
        on orders.order_id = label_costs.order_id
    left join payment_fees
        on orders.order_id = payment_fees.order_id
    left join fx
        on
            orders.currency = fx.currency
            and orders.paid_local_date = fx.rate_date

)

select
    *,
    cast(net_revenue + shipping_revenue - cogs as decimal(18, 2)) as slice_gross_profit,
    cast(net_revenue + shipping_revenue - cogs - label_cost - payment_fees as decimal(18, 2)) as gross_profit
from final
