-- One row per order open at the as-of time (paid, not cancelled, not fully shipped) with its business-hours age
-- and aging bucket (METRICS.md §7).
with

orders as (

    select * from {{ ref('int_fulfilment__order_sla') }}

),

final as (

    select
        cast(order_id as varchar) as order_id,
        cast(store_id as varchar) as store_id,
        cast(order_name as varchar) as order_name,
        cast(paid_at as timestamp with time zone) as paid_at,
        cast(clock_start_local as timestamp) as clock_start_local,
        cast(first_shipped_at as timestamp with time zone) as first_shipped_at,
        cast(open_age_business_hours as double) as open_age_business_hours,
        cast(
            case
                when open_age_business_hours < 24 then '0-24'
                when open_age_business_hours < 48 then '24-48'
                when open_age_business_hours < 72 then '48-72'
                else '72+'
            end as varchar
        ) as aging_bucket,
        cast(open_age_business_hours > 48 as boolean) as is_over_48h,
        {{ as_of_ts() }} as as_of

    from orders
    where is_open

)

select * from final
