{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
    )
}}

with

source as (

    select * from {{ source('raw_shopify', 'order_transactions') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as transaction_id,
        order_id,
        store_id,
        refund_id,
        kind,
        status,
        gateway,
        cast(created_at as timestamp with time zone) as created_at,
        cast(processed_at as timestamp with time zone) as processed_at,
        payment_id,
        error_code,
        parent_transaction_id,
        cast(amount as decimal(18, 2)) as amount,
        currency,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
