with

source as (

    select * from {{ source('raw_sheets', 'stores') }}

),

renamed as (

    select
        store_id,
        brand,
        market,
        shop_domain,
        currency,
        timezone,
        order_cutoff_local,
        business_days

    from source

)

select * from renamed
