with

source as (

    select * from {{ source('raw_sheets', 'kpi_targets') }}

),

renamed as (

    select
        metric,
        cast(target as double) as target,
        direction

    from source

)

select * from renamed
