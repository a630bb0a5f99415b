-- One row per paid, non-test order not cancelled at the as-of time (METRICS.md §7): business-hours clock
-- start and 48 h deadline (store calendar, cut-off rule), first_shipped_at, shipped_at (the fulfillment that
-- completes every line), whether it shipped within 48 business hours, and its open age when not shipped.
-- Local timestamps are store wall-clock time (no zone).
with

orders as (

    select * from {{ ref('int_orders__paid') }}

),

order_lines as (

    select * from {{ ref('stg_shopify__order_lines') }}

),

line_shipments as (

    select * from {{ ref('int_fulfilment__line_shipments') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

calendar as (

    select * from {{ ref('int_fulfilment__business_calendar') }}

),

population as (

    select
        orders.order_id,
        orders.store_id,
        orders.order_name,
        orders.paid_at,
        orders.period_start,
        stores.timezone,
        {{ to_local('orders.paid_at', 'stores.timezone') }} as paid_local,
        {{ to_local(as_of_ts(), 'stores.timezone') }} as as_of_local,
        cast(substring(stores.order_cutoff_local, 1, 2) as integer)
        + cast(substring(stores.order_cutoff_local, 4, 2) as integer) / 60.0 as cutoff_hours

    from orders
    inner join stores
        on orders.store_id = stores.store_id
    where orders.cancelled_at is null or orders.cancelled_at > {{ as_of_ts() }}

),

shipping as (

    select
        order_lines.order_id,
        count(*) as line_count,
        count(line_shipments.line_shipped_at) as lines_shipped,
        max(line_shipments.line_shipped_at) as last_line_shipped_at,
        min(line_shipments.first_fulfilled_at) as first_shipped_at

    from order_lines
    left join line_shipments
        on order_lines.order_line_id = line_shipments.order_line_id
    group by order_lines.order_id

),

started as (

    select
        population.*,
        case
            when
                paid_day.is_business_day
                and {{ hours_into_day('population.paid_local') }} <= population.cutoff_hours
                then population.paid_local
            else {{ dbt.cast('next_day.calendar_date', 'timestamp') }}
        end as clock_start_local

    from population
    inner join calendar as paid_day
        on
            population.store_id = paid_day.store_id
            and cast(population.paid_local as date) = paid_day.calendar_date
    inner join calendar as next_day
        on
            population.store_id = next_day.store_id
            and next_day.is_business_day
            and next_day.business_days_before
            = paid_day.business_days_before + case when paid_day.is_business_day then 1 else 0 end

),

positioned as (

    select
        started.*,
        {{ business_position('started.clock_start_local', 'start_day') }} as start_position,
        {{ business_position('started.as_of_local', 'as_of_day') }} as as_of_position

    from started
    inner join calendar as start_day
        on
            started.store_id = start_day.store_id
            and cast(started.clock_start_local as date) = start_day.calendar_date
    inner join calendar as as_of_day
        on
            started.store_id = as_of_day.store_id
            and cast(started.as_of_local as date) = as_of_day.calendar_date

),

deadlines as (

    select
        positioned.*,
        {{ deadline_at('positioned.start_position', 48, 'deadline_day') }} as deadline_local

    from positioned
    inner join calendar as deadline_day
        on
            positioned.store_id = deadline_day.store_id
            and deadline_day.is_business_day
            and deadline_day.business_days_before = {{ deadline_day_index('positioned.start_position', 48) }}

),

final as (

    select
        deadlines.order_id,
        deadlines.store_id,
        deadlines.order_name,
        deadlines.period_start,
        deadlines.paid_at,
        deadlines.paid_local,
        deadlines.clock_start_local,
        deadlines.deadline_local,
        shipping.first_shipped_at,
        case when shipping.lines_shipped = shipping.line_count then shipping.last_line_shipped_at end as shipped_at,
        case
            when shipping.lines_shipped = shipping.line_count
                then {{ to_local('shipping.last_line_shipped_at', 'deadlines.timezone') }}
        end as shipped_local,
        deadlines.as_of_local,
        greatest(deadlines.as_of_position - deadlines.start_position, 0) as age_business_hours

    from deadlines
    left join shipping
        on deadlines.order_id = shipping.order_id

)

select
    *,
    coalesce(shipped_local <= deadline_local, false) as is_shipped_within_48h,
    shipped_at is not null or deadline_local <= as_of_local as is_sla_decided,
    shipped_at is null as is_open,
    case when shipped_at is null then age_business_hours end as open_age_business_hours
from final
