with

source as (

    select * from {{ source('raw_sheets', 'holidays') }}

),

renamed as (

    select
        nullif(store_id, '') as store_id,
        market,
        cast(date as date) as holiday_date,
        name as holiday_name

    from source

)

select * from renamed
