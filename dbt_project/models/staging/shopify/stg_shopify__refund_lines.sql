{{
    config(
        materialized='incremental',
        unique_key='refund_line_id',
    )
}}

with

source as (

    select * from {{ source('raw_shopify', 'refund_line_items') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as refund_line_id,
        refund_id,
        order_id,
        store_id,
        line_item_id as order_line_id,
        cast(quantity as integer) as quantity,
        restock_type,
        cast(subtotal_amount as decimal(18, 2)) as subtotal_amount,
        currency,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
