-- One row per store × local day with orders, revenue, gross profit and leak cost (METRICS.md §2-§3 at day grain),
-- for the daily standup and weekly report and for trends finer than the month.
with

profit as (

    select * from {{ ref('int_orders__profit') }}

),

leaks as (

    select * from {{ ref('leak_events') }}

),

orders_daily as (

    select
        store_id,
        paid_local_date as local_date,
        count(*) as orders_paid,
        sum(net_revenue) as net_revenue,
        sum(gross_profit) as gross_profit

    from profit
    group by store_id, paid_local_date

),

leaks_daily as (

    select
        store_id,
        local_date,
        count(*) as leak_events,
        sum(refund_cost) as refund_cost,
        sum(case when is_preventable then refund_cost else 0 end) as preventable_refund_cost

    from leaks
    group by store_id, local_date

),

store_days as (

    select
        store_id,
        local_date
    from orders_daily
    union
    select
        store_id,
        local_date
    from leaks_daily

),

final as (

    select
        store_days.store_id,
        store_days.local_date,
        cast(coalesce(orders_daily.orders_paid, 0) as integer) as orders_paid,
        cast(coalesce(orders_daily.net_revenue, 0) as decimal(18, 2)) as net_revenue,
        cast(coalesce(orders_daily.gross_profit, 0) as decimal(18, 2)) as gross_profit,
        cast(coalesce(leaks_daily.leak_events, 0) as integer) as leak_events,
        cast(coalesce(leaks_daily.refund_cost, 0) as decimal(18, 2)) as refund_cost,
        cast(coalesce(leaks_daily.preventable_refund_cost, 0) as decimal(18, 2)) as preventable_refund_cost,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ as_of_ts() }} as as_of

    from store_days
    left join orders_daily
        on
            store_days.store_id = orders_daily.store_id
            and store_days.local_date = orders_daily.local_date
    left join leaks_daily
        on
            store_days.store_id = leaks_daily.store_id
            and store_days.local_date = leaks_daily.local_date

)

select * from final
