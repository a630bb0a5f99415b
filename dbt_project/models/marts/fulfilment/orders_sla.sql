-- One row per paid, non-cancelled order: its 48 business-hour SLA (METRICS.md §7), store wall-clock times.
with

orders as (

    select * from {{ ref('int_fulfilment__order_sla') }}

),

final as (

    select
        cast(order_id as varchar) as order_id,
        cast(store_id as varchar) as store_id,
        cast(order_name as varchar) as order_name,
        cast(period_start as date) as period_start,
        cast(paid_at as timestamp with time zone) as paid_at,
        cast(clock_start_local as timestamp) as clock_start_local,
        cast(deadline_local as timestamp) as deadline_local,
        cast(first_shipped_at as timestamp with time zone) as first_shipped_at,
        cast(shipped_at as timestamp with time zone) as shipped_at,
        cast(is_shipped_within_48h as boolean) as is_shipped_within_48h,
        cast(is_sla_decided as boolean) as is_sla_decided,
        {{ as_of_ts() }} as as_of

    from orders

)

select * from final
