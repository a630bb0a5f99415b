with

source as (

    select * from {{ source('raw_sheets', 'carriers') }}

),

renamed as (

    select
        carrier,
        carrier_name,
        market,
        service,
        cast(transit_sla_days as integer) as transit_sla_days,
        cast(guaranteed as boolean) as is_guaranteed,
        cast(claim_window_days as integer) as claim_window_days,
        currency,
        cast(label_cost as decimal(18, 2)) as label_cost

    from source

)

select * from renamed
