-- The two §4 windows (METRICS.md §4, leaks.md): inclusive store-local date ranges against the UTC date of the
-- clock: the last full calendar month before it, and the trailing 90 days ending on it.
with

clock as (

    select cast({{ to_local(as_of_ts(), "'UTC'") }} as date) as today

),

final as (

    select
        'last_full_month' as time_window,
        cast({{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'today')) }} as date) as window_start,
        cast({{ dbt.dateadd('day', -1, dbt.date_trunc('month', 'today')) }} as date) as window_end
    from clock
    union all
    select
        'trailing_90d' as time_window,
        cast({{ dbt.dateadd('day', -89, 'today') }} as date) as window_start,
        today as window_end
    from clock

)

select * from final
