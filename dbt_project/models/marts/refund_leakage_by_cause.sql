-- One row per store × local month × cause: refund cost against the store-month's gross profit.
with

leaks as (

    select * from {{ ref('leak_events') }}

),

profit as (

    select * from {{ ref('int_orders__profit') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

monthly_profit as (

    select
        store_id,
        period_start,
        sum(gross_profit) as gross_profit

    from profit
    group by store_id, period_start

),

by_cause as (

    select
        store_id,
        period_start,
        cause,
        max(cause_label) as cause_label,
        max(cause_owner) as cause_owner,
        sum(refund_cost) as refund_cost,
        sum(case when is_preventable then refund_cost else 0 end) as preventable_refund_cost,
        count(*) as refund_count

    from leaks
    group by store_id, period_start, cause

),

final as (

    select
        by_cause.store_id,
        stores.brand,
        stores.market,
        by_cause.period_start,
        by_cause.cause,
        by_cause.cause_label,
        by_cause.cause_owner,
        cast(by_cause.refund_cost as decimal(18, 2)) as refund_cost,
        cast(by_cause.preventable_refund_cost as decimal(18, 2)) as preventable_refund_cost,
        cast(coalesce(monthly_profit.gross_profit, 0) as decimal(18, 2)) as gross_profit,
        {{ safe_ratio('by_cause.refund_cost', 'monthly_profit.gross_profit') }} as refund_cost_pct_of_profit,
        by_cause.refund_count,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ as_of_ts() }} as as_of

    from by_cause
    left join monthly_profit
        on
            by_cause.store_id = monthly_profit.store_id
            and by_cause.period_start = monthly_profit.period_start
    left join stores
        on by_cause.store_id = stores.store_id

)

select * from final
