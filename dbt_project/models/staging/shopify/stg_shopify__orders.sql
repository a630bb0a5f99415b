{{
    config(
        materialized='incremental',
        unique_key='order_id',
    )
}}

with

source as (

    select * from {{ source('raw_shopify', 'orders') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as order_id,
        store_id,
        name as order_name,
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at,
        cast(processed_at as timestamp with time zone) as processed_at,
        cast(cancelled_at as timestamp with time zone) as cancelled_at,
        cancel_reason,
        coalesce(tags, '') as tags,
        {{ regex_group('tags', 'replacement-for:(#[0-9]+)') }} as replacement_for_order_name,
        note,
        {{ hash_pii('email') }} as customer_email_hash,
        currency_code as currency,
        coalesce(test, false) as is_test,
        customer_id,
        cast(coalesce(shipping_amount, 0) as decimal(18, 2)) as shipping_amount,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
