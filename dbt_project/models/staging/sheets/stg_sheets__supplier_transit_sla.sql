with

source as (

    select * from {{ source('raw_sheets', 'supplier_transit_sla') }}

),

renamed as (

    select
        supplier_id,
        market,
        cast(transit_sla_days as integer) as transit_sla_days

    from source

)

select * from renamed
