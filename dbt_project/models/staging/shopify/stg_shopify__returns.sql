with

source as (

    select * from {{ source('raw_shopify', 'returns') }}

),

renamed as (

    select
        id as return_id,
        order_id,
        store_id,
        name as return_name,
        status,
        cast(created_at as timestamp with time zone) as requested_at,
        cast(request_approved_at as timestamp with time zone) as approved_at,
        cast(received_at as timestamp with time zone) as received_at,
        cast(closed_at as timestamp with time zone) as closed_at,
        cast(total_quantity as integer) as total_quantity,
        reverse_fulfillment_order_status

    from source

)

select * from renamed
