{{
    config(
        materialized='incremental',
        unique_key='payment_intent_id',
    )
}}

with

source as (

    select * from {{ source('raw_stripe', 'payment_intents') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as payment_intent_id,
        account_id,
        brand,
        cast(created as timestamp with time zone) as created_at,
        cast(amount as bigint) as amount_cents,
        cast(cast(amount as decimal(18, 2)) / 100 as decimal(18, 2)) as amount,
        cast(cast(coalesce(amount_received, 0) as decimal(18, 2)) / 100 as decimal(18, 2)) as amount_received,
        upper(currency) as currency,
        status,
        latest_charge as latest_charge_id,
        payment_method as payment_method_id,
        last_payment_error_code,
        metadata_shopify_order as shopify_order_name,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
