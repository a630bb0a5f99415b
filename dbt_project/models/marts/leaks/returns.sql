-- One row per processed return (METRICS.md §10): a return closed by the clock by its refund or exchange order,
-- with its cycle time (closedAt − requested, in days) and the store-local month of closing.
with

returns as (

    select * from {{ ref('int_leaks__returns') }}
    where closed_at is not null

),

final as (

    select
        cast(return_id as varchar) as return_id,
        cast(return_name as varchar) as return_name,
        cast(order_id as varchar) as order_id,
        cast(store_id as varchar) as store_id,
        -- Shopify's Return does not say which returns app (native, Loop, AfterShip Returns) handled it
        cast(null as varchar) as returns_provider,
        cast(outcome as varchar) as outcome,
        cast(return_reason as varchar) as return_reason,
        cast(sku as varchar) as sku,
        cast(requested_at as timestamp with time zone) as requested_at,
        cast(received_at as timestamp with time zone) as received_at,
        cast(closed_at as timestamp with time zone) as closed_at,
        cast(
            {{ dbt.datediff('requested_at', 'closed_at', 'second') }} / 86400.0 as double  -- noqa: LT05
        ) as cycle_days,
        cast(closed_local_date as date) as local_date,
        cast({{ dbt.date_trunc('month', 'closed_local_date') }} as date) as period_start,
        {{ as_of_ts() }} as as_of

    from returns

)

select * from final
