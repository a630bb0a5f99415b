-- One row per store × local calendar day: whether it is a business day (the store's business_days, not a
-- holiday of the store or of its market) and how many business days come strictly before it (the clock's
-- ordinal, METRICS.md §0). Spans the first paid order's month minus a week to a year after the as-of date.
with

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

holidays as (

    select * from {{ ref('stg_sheets__holidays') }}

),

orders as (

    select * from {{ ref('int_orders__paid') }}

),

weekdays as (

    select
        weekday_names.iso_day,
        weekday_names.day_name
    from (
        values
        (1, 'mon'), (2, 'tue'), (3, 'wed'), (4, 'thu'), (5, 'fri'), (6, 'sat'), (7, 'sun')
    ) as weekday_names (iso_day, day_name)

),

-- business_days is a range (`Mon-Fri`) or a comma list (`Mon,Tue,Thu`)
store_weekdays as (

    select
        stores.store_id,
        weekdays.iso_day

    from stores
    cross join weekdays
    left join weekdays as range_from
        on lower(substring(stores.business_days, 1, 3)) = range_from.day_name
    left join weekdays as range_to
        on lower(substring(stores.business_days, 5, 3)) = range_to.day_name
    where
        case
            when substring(stores.business_days, 4, 1) = '-'
                then weekdays.iso_day between range_from.iso_day and range_to.iso_day
            else position(weekdays.day_name in lower(stores.business_days)) > 0
        end

),

bounds as (

    select
        cast({{ dbt.dateadd('day', -7, dbt.date_trunc('month', 'min(paid_local_date)')) }} as date) as first_date

    from orders

),

day_numbers as (

    {{ dbt.generate_series(2200) }}

),

days as (

    select
        cast(
            {{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'bounds.first_date') }} as date
        ) as calendar_date
    from day_numbers
    cross join bounds
    where
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'bounds.first_date') }} as date)
        <= cast({{ dbt.dateadd('day', 366, as_of_ts()) }} as date)

),

store_days as (

    select
        stores.store_id,
        days.calendar_date,
        exists (
            select 1
            from store_weekdays
            where
                store_weekdays.store_id = stores.store_id
                and store_weekdays.iso_day = {{ iso_weekday('days.calendar_date') }}
        )
        and not exists (
            select 1
            from holidays
            where
                holidays.holiday_date = days.calendar_date
                and (
                    holidays.store_id = stores.store_id
                    or (holidays.store_id is null and holidays.market = stores.market)
                )
        ) as is_business_day

    from stores
    cross join days

),

final as (

    select
        store_id,
        calendar_date,
        is_business_day,
        cast(coalesce(sum(case when is_business_day then 1 else 0 end) over (
            partition by store_id
            order by calendar_date
            rows between unbounded preceding and 1 preceding
        ), 0) as integer) as business_days_before

    from store_days

)

select * from final
