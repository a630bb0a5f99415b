-- One row per store × local month from the month of the store's first paid (not cancelled) order through the
-- as-of local month: the row grid of every monthly fulfilment KPI (METRICS.md §13).
with

orders as (

    select * from {{ ref('int_orders__paid') }}

),

calendar as (

    select * from {{ ref('int_fulfilment__business_calendar') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

first_months as (

    select
        store_id,
        min(period_start) as first_period_start

    from orders
    where cancelled_at is null or cancelled_at > {{ as_of_ts() }}
    group by store_id

),

final as (

    select distinct
        calendar.store_id,
        cast({{ dbt.date_trunc('month', 'calendar.calendar_date') }} as date) as period_start

    from calendar
    inner join first_months
        on calendar.store_id = first_months.store_id
    inner join stores
        on calendar.store_id = stores.store_id
    where
        calendar.calendar_date >= first_months.first_period_start
        and calendar.calendar_date <= cast({{ to_local(as_of_ts(), 'stores.timezone') }} as date)

)

select * from final
