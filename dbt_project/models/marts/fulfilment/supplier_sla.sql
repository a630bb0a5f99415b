-- One row per order line fulfilled from a drop-shipping supplier: dispatch and transit SLA outcomes (§7).
with

lines as (

    select * from {{ ref('int_fulfilment__supplier_lines') }}

),

final as (

    select
        cast(order_line_id as varchar) as order_line_id,
        cast(order_id as varchar) as order_id,
        cast(store_id as varchar) as store_id,
        cast(supplier_id as varchar) as supplier_id,
        cast(market as varchar) as market,
        cast(tracking_id as varchar) as tracking_id,
        cast(period_start as date) as period_start,
        cast(dispatch_deadline_local as timestamp) as dispatch_deadline_local,
        cast(fulfilled_local as timestamp) as fulfilled_local,
        cast(pickup_date as date) as pickup_date,
        cast(delivery_date as date) as delivery_date,
        cast(transit_sla_days as integer) as transit_sla_days,
        cast(is_dispatch_on_time as boolean) as is_dispatch_on_time,
        cast(is_transit_on_time as boolean) as is_transit_on_time,
        {{ as_of_ts() }} as as_of

    from lines

)

select * from final
