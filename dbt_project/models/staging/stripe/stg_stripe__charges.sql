{{
    config(
        materialized='incremental',
        unique_key='charge_id',
    )
}}

with

source as (

    select * from {{ source('raw_stripe', 'charges') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as charge_id,
        account_id,
        brand,
        cast(created as timestamp with time zone) as created_at,
        cast(amount as bigint) as amount_cents,
        cast(cast(amount as decimal(18, 2)) / 100 as decimal(18, 2)) as amount,
        cast(cast(coalesce(amount_refunded, 0) as decimal(18, 2)) / 100 as decimal(18, 2)) as amount_refunded,
        upper(currency) as currency,
        status,
        status = 'succeeded' as is_succeeded,
        coalesce(refunded, false) as is_refunded,
        coalesce(disputed, false) as is_disputed,
        failure_code,
        failure_message,
        outcome_type,
        outcome_reason,
        outcome_network_status,
        outcome_risk_level,
        outcome_risk_score,
        lower(card_brand) as card_brand,
        card_country,
        card_funding,
        {{ hash_pii('billing_email') }} as billing_email_hash,
        payment_intent as payment_intent_id,
        payment_method as payment_method_id,
        balance_transaction as balance_transaction_id,
        metadata_shopify_order as shopify_order_name,
        metadata_shopify_shop as shopify_shop_domain,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
