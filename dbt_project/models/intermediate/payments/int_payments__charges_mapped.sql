-- One row per Stripe charge with the store and order it pays for (METRICS.md §6/§10/§11 mapping): the store of
-- the account's brand whose shop domain is metadata.shopify_shop, the order of that store named
-- metadata.shopify_order; local date and month in the store's timezone.
with

charges as (

    select * from {{ ref('stg_stripe__charges') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}
    where created_at <= {{ as_of_ts() }}

),

mapped as (

    select
        charges.charge_id,
        charges.account_id,
        charges.brand,
        charges.created_at,
        charges.amount_cents,
        charges.amount,
        charges.amount_refunded,
        charges.currency,
        charges.status,
        charges.is_succeeded,
        charges.is_refunded,
        charges.is_disputed,
        charges.failure_code,
        charges.failure_message,
        charges.outcome_type,
        charges.outcome_reason,
        charges.outcome_network_status,
        charges.outcome_risk_level,
        charges.outcome_risk_score,
        charges.card_brand,
        charges.card_country,
        charges.card_funding,
        charges.billing_email_hash,
        charges.payment_intent_id,
        charges.payment_method_id,
        charges.balance_transaction_id,
        charges.shopify_order_name,
        charges.shopify_shop_domain,
        stores.store_id,
        orders.order_id,
        cast({{ to_local('charges.created_at', 'stores.timezone') }} as date) as local_date

    from charges
    left join stores
        on
            charges.brand = stores.brand
            and charges.shopify_shop_domain = stores.shop_domain
    left join orders
        on
            stores.store_id = orders.store_id
            and charges.shopify_order_name = orders.order_name
    where charges.created_at <= {{ as_of_ts() }}

),

final as (

    select
        mapped.charge_id,
        mapped.account_id,
        mapped.brand,
        mapped.created_at,
        mapped.amount_cents,
        mapped.amount,
        mapped.amount_refunded,
        mapped.currency,
        mapped.status,
        mapped.is_succeeded,
        mapped.is_refunded,
        mapped.is_disputed,
        mapped.failure_code,
        mapped.failure_message,
        mapped.outcome_type,
        mapped.outcome_reason,
        mapped.outcome_network_status,
        mapped.outcome_risk_level,
        mapped.outcome_risk_score,
        mapped.card_brand,
        mapped.card_country,
        mapped.card_funding,
        mapped.billing_email_hash,
        mapped.payment_intent_id,
        mapped.payment_method_id,
        mapped.balance_transaction_id,
        mapped.shopify_order_name,
        mapped.shopify_shop_domain,
        mapped.store_id,
        mapped.order_id,
        mapped.local_date,
        cast({{ dbt.date_trunc('month', 'mapped.local_date') }} as date) as period_start

    from mapped

)

select * from final
