{{
    config(
        materialized='incremental',
        unique_key='fulfillment_line_id',
    )
}}

with

source as (

    select * from {{ source('raw_shopify', 'fulfillment_line_items') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as fulfillment_line_id,
        fulfillment_id,
        order_id,
        store_id,
        line_item_id as order_line_id,
        cast(quantity as integer) as quantity,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
