with

source as (

    select * from {{ source('raw_sheets', 'suppliers') }}

),

renamed as (

    select
        supplier_id,
        name as supplier_name,
        cast(dispatch_sla_business_days as integer) as dispatch_sla_business_days

    from source

)

select * from renamed
