-- One row per paid, non-test order: when it was paid (UTC and store-local) and its store.
with

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

transactions as (

    select * from {{ ref('stg_shopify__transactions') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

first_payment as (

    select
        order_id,
        min(created_at) as paid_at

    from transactions
    where
        kind in ('SALE', 'CAPTURE')
        and status = 'SUCCESS'
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.store_id,
        orders.order_name,
        orders.currency,
        orders.tags,
        orders.shipping_amount,
        orders.cancelled_at,
        orders.cancel_reason,
        first_payment.paid_at,
        stores.timezone,
        cast({{ to_local('first_payment.paid_at', 'stores.timezone') }} as date) as paid_local_date

    from orders
    inner join first_payment
        on orders.order_id = first_payment.order_id
    inner join stores
        on orders.store_id = stores.store_id
    where not orders.is_test

)

select
    *,
    cast({{ dbt.date_trunc('month', 'paid_local_date') }} as date) as period_start
from final
