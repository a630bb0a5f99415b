-- One row per order with money recovered for it (sandbox/world/leaks.md "Recoveries", METRICS.md §3): carrier-claim
-- payouts (claims with status paid, at the FX of the paid local date) and supplier credit notes (at the FX of the
-- issued local date), each converted and rounded to cents per claim / credit, in the reporting currency. The
-- leak-marts branch assigns them to the order's earliest leak event.
with

claims as (

    select * from {{ ref('int_fulfilment__claims') }}
    where status = 'paid'

),

supplier_credits as (

    select * from {{ ref('stg_sheets__supplier_credits') }}

),

fx as (

    select * from {{ ref('int_fx__daily_rates') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

recovered as (

    select
        store_id,
        order_name,
        coalesce(paid_amount, 0) as claim_payout,
        cast(0 as decimal(18, 2)) as supplier_credit

    from claims
    union all
    select
        supplier_credits.store_id,
        supplier_credits.order_name,
        cast(0 as decimal(18, 2)) as claim_payout,
        {{ to_cents('supplier_credits.credit_amount * fx.rate_to_reporting') }} as supplier_credit

    from supplier_credits
    left join fx
        on
            supplier_credits.currency = fx.currency
            and supplier_credits.issued_date = fx.rate_date

),

per_order as (

    select
        store_id,
        order_name,
        cast(sum(claim_payout) as decimal(18, 2)) as claim_payouts,
        cast(sum(supplier_credit) as decimal(18, 2)) as supplier_credits

    from recovered
    group by store_id, order_name

),

final as (

    select
        orders.order_id,
        per_order.store_id,
        per_order.order_name,
        per_order.claim_payouts,
        per_order.supplier_credits,
        cast(per_order.claim_payouts + per_order.supplier_credits as decimal(18, 2)) as recoveries,
        '{{ var("reporting_currency") }}' as reporting_currency

    from per_order
    left join orders
        on
            per_order.store_id = orders.store_id
            and per_order.order_name = orders.order_name

)

select * from final
