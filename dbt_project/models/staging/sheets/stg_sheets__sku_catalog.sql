with

source as (

    select * from {{ source('raw_sheets', 'sku_catalog') }}

),

renamed as (

    select
        sku,
        product_title,
        supplier_id,
        cast(unit_cogs as decimal(18, 4)) as unit_cogs,
        cogs_currency

    from source

)

select * from renamed
