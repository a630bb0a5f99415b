-- Months with portfolio KPIs, newest first, and whether each month is complete.
-- A month counts as complete once the run's as-of time is at least one day past its end, so every store's
-- local month (UTC-10 .. UTC+14) has closed. as_of is assumed to be a UTC timestamp.
with portfolio_months as (
    select
        period_start,
        max(as_of) as as_of
    from marts.kpis
    where grain = 'month'
      and store_id is null
      and dimension is null
    group by period_start
),

run as (
    select max(as_of) as as_of from marts.kpis
),

final as (
    select
        portfolio_months.period_start,
        run.as_of,
        run.as_of >= portfolio_months.period_start + interval 1 month + interval 1 day as is_complete
    from portfolio_months
    cross join run
)

select * from final
order by period_start desc
