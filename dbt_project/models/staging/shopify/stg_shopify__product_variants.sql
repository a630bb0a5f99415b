with

source as (

    select * from {{ source('raw_shopify', 'product_variants') }}

),

renamed as (

    select
        id as variant_id,
        store_id,
        product_id,
        sku,
        title as variant_title,
        product_title,
        vendor,
        product_status,
        cast(price as decimal(18, 2)) as price_amount,
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
