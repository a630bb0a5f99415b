with

source as (

    select * from {{ source('raw_sheets', 'fx_rates') }}

),

renamed as (

    select
        cast(date as date) as rate_date,
        currency,
        cast(rate_to_usd as decimal(18, 6)) as rate_to_usd

    from source

)

select * from renamed
