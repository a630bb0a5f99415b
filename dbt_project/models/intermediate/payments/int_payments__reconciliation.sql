-- One row per open Shopify <-> Stripe reconciliation issue at the run's as-of time (METRICS.md §11). Shopify
-- transactions count when successful and linked to Stripe (payment_id, gateway stripe); refunds get 24 h to
-- appear on the other side. Issue store: the order's store (Shopify side) or the charge's mapped store.
with

transactions as (

    select * from {{ ref('stg_shopify__transactions') }}
    where
        status = 'SUCCESS'
        and payment_id is not null
        and created_at <= {{ as_of_ts() }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

charges as (

    select * from {{ ref('int_payments__charges_mapped') }}

),

refunds as (

    select * from {{ ref('stg_stripe__refunds') }}
    where created_at <= {{ as_of_ts() }}

),

shopify_side as (

    select
        transactions.transaction_id,
        transactions.order_id,
        orders.store_id,
        transactions.kind,
        transactions.payment_id,
        transactions.created_at,
        transactions.amount,
        upper(transactions.currency) as currency

    from transactions
    left join orders
        on transactions.order_id = orders.order_id

),

sales as (

    select * from shopify_side
    where kind = 'SALE'

),

shopify_refunds as (

    select * from shopify_side
    where kind = 'REFUND'

),

missing_charges as (

    select
        'missing_stripe_charge' as issue_type,
        sales.store_id,
        sales.order_id,
        sales.transaction_id as shopify_transaction_id,
        sales.payment_id as stripe_id,
        sales.created_at as first_seen

    from sales
    left join charges
        on sales.payment_id = charges.charge_id
    where charges.charge_id is null

),

orphan_charges as (

    select
        'orphan_stripe_charge' as issue_type,
        charges.store_id,
        charges.order_id,
        cast(null as varchar) as shopify_transaction_id,
        charges.charge_id as stripe_id,
        charges.created_at as first_seen

    from charges
    left join sales
        on charges.charge_id = sales.payment_id
    where
        charges.is_succeeded
        and sales.transaction_id is null

),

mismatches as (

    select
        'amount_mismatch' as issue_type,
        sales.store_id,
        sales.order_id,
        sales.transaction_id as shopify_transaction_id,
        sales.payment_id as stripe_id,
        sales.created_at as first_seen

    from sales
    inner join charges
        on sales.payment_id = charges.charge_id
    where
        sales.amount != charges.amount
        or sales.currency != charges.currency

),

missing_refunds as (

    select
        'missing_stripe_refund' as issue_type,
        shopify_refunds.store_id,
        shopify_refunds.order_id,
        shopify_refunds.transaction_id as shopify_transaction_id,
        shopify_refunds.payment_id as stripe_id,
        shopify_refunds.created_at as first_seen

    from shopify_refunds
    left join refunds
        on shopify_refunds.payment_id = refunds.refund_id
    where
        refunds.refund_id is null
        and shopify_refunds.created_at <= {{ dbt.dateadd('hour', -24, as_of_ts()) }}

),

orphan_refunds as (

    select
        'orphan_stripe_refund' as issue_type,
        charges.store_id,
        charges.order_id,
        cast(null as varchar) as shopify_transaction_id,
        refunds.refund_id as stripe_id,
        refunds.created_at as first_seen

    from refunds
    left join shopify_refunds
        on refunds.refund_id = shopify_refunds.payment_id
    left join charges
        on refunds.charge_id = charges.charge_id
    where
        shopify_refunds.transaction_id is null
        and refunds.created_at <= {{ dbt.dateadd('hour', -24, as_of_ts()) }}

),

final as (

    select * from missing_charges
    union all
    select * from orphan_charges
    union all
    select * from mismatches
    union all
    select * from missing_refunds
    union all
    select * from orphan_refunds

)

select * from final
