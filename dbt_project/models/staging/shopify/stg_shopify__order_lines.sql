{{
    config(
        materialized='incremental',
        unique_key='order_line_id',
    )
}}

with

source as (

    select * from {{ source('raw_shopify', 'order_line_items') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as order_line_id,
        order_id,
        store_id,
        sku,
        title as product_title,
        cast(quantity as integer) as quantity,
        cast(unit_price_amount as decimal(18, 2)) as unit_price,
        cast(coalesce(total_discount_amount, 0) as decimal(18, 2)) as discount_amount,
        currency,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
