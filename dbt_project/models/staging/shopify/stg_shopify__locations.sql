with

source as (

    select * from {{ source('raw_shopify', 'locations') }}

),

renamed as (

    select
        id as location_id,
        store_id,
        name as location_name,
        coalesce(is_active, false) as is_active,
        coalesce(fulfills_online_orders, false) as fulfills_online_orders,
        coalesce(is_fulfillment_service, false) as is_fulfillment_service,
        country_code,
        country,
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
