-- One row per parcel (AfterShip tracking): carrier, service, market, transit days and on-time (§7).
with

parcels as (

    select * from {{ ref('int_fulfilment__parcels') }}

),

final as (

    select
        cast(tracking_id as varchar) as tracking_id,
        cast(tracking_number as varchar) as tracking_number,
        cast(store_id as varchar) as store_id,
        cast(market as varchar) as market,
        cast(carrier as varchar) as carrier,
        cast(service as varchar) as service,
        cast(tag as varchar) as tag,
        cast(pickup_date as date) as pickup_date,
        cast(delivery_date as date) as delivery_date,
        cast(promised_date as date) as promised_date,
        cast(transit_days as integer) as transit_days,
        cast(is_on_time as boolean) as is_on_time,
        cast(delivery_period_start as date) as delivery_period_start,
        {{ as_of_ts() }} as as_of

    from parcels

)

select * from final
