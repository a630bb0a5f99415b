-- One row per open Shopify <-> Stripe reconciliation issue at the run's as-of time (METRICS.md §11).
with

issues as (

    select * from {{ ref('int_payments__reconciliation') }}

),

clock as (

    select {{ as_of_ts() }} as as_of

),

final as (

    select
        cast(issues.issue_type as varchar) as issue_type,
        cast(issues.store_id as varchar) as store_id,
        cast(issues.order_id as varchar) as order_id,
        cast(issues.shopify_transaction_id as varchar) as shopify_transaction_id,
        cast(issues.stripe_id as varchar) as stripe_id,
        cast(issues.first_seen as timestamp with time zone) as first_seen,
        cast(
            {{ dbt.datediff('issues.first_seen', 'clock.as_of', 'second') }} / 3600.0 as double  -- noqa: LT05
        ) as age_hours

    from issues
    cross join clock

)

select * from final
