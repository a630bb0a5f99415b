-- One row per currency × calendar day from the first rate in the sheet to the run's as-of date:
-- the day's rate to the reporting currency, or the latest earlier one (flagged as a fallback).
with

rates as (

    select * from {{ ref('stg_sheets__fx_rates') }}

),

bounds as (

    select
        min(rate_date) as first_date,
        cast({{ as_of_ts() }} as date) as last_date

    from rates

),

day_numbers as (

    {{ dbt.generate_series(4096) }}

),

days as (

    select cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'bounds.first_date') }} as date) as rate_date
    from day_numbers
    cross join bounds
    where
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'bounds.first_date') }} as date)
        <= greatest(bounds.last_date, (select max(rates.rate_date) from rates))

),

currencies as (

    select distinct currency from rates

),

grid as (

    select
        currencies.currency,
        days.rate_date,
        rates.rate_to_usd as published_rate

    from currencies
    cross join days
    left join rates
        on
            currencies.currency = rates.currency
            and days.rate_date = rates.rate_date

),

filled as (

    select
        currency,
        rate_date,
        published_rate is null as is_fallback,
        last_value(published_rate ignore nulls) over (
            partition by currency
            order by rate_date
            rows between unbounded preceding and current row
        ) as rate_to_usd

    from grid

),

reporting as (

    select
        rate_date,
        rate_to_usd as reporting_rate_to_usd

    from filled
    where currency = '{{ var("reporting_currency") }}'

),

final as (

    select
        filled.currency,
        filled.rate_date,
        filled.is_fallback,
        filled.rate_to_usd,
        case
            when '{{ var("reporting_currency") }}' = 'USD' then filled.rate_to_usd
            else cast(filled.rate_to_usd / reporting.reporting_rate_to_usd as decimal(18, 10))
        end as rate_to_reporting

    from filled
    left join reporting
        on filled.rate_date = reporting.rate_date
    where filled.rate_to_usd is not null

)

select * from final
