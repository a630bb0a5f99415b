with

source as (

    select * from {{ source('raw_shopify', 'return_line_items') }}

),

renamed as (

    select
        id as return_line_id,
        return_id,
        order_id,
        store_id,
        line_item_id as order_line_id,
        fulfillment_line_item_id as fulfillment_line_id,
        cast(quantity as integer) as quantity,
        return_reason,
        return_reason_handle,
        customer_note,
        cast(received_at as timestamp with time zone) as received_at,
        disposition_type

    from source

)

select * from renamed
