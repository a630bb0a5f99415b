with

source as (

    select * from {{ source('raw_shopify', 'fulfillment_line_items') }}

),

renamed as (

    select
        id as fulfillment_line_id,
        fulfillment_id,
        order_id,
        store_id,
        line_item_id as order_line_id,
        cast(quantity as integer) as quantity

    from source

)

select * from renamed
