-- One row per claim of the carrier claims log with its amounts in the reporting currency (METRICS.md §8):
-- claimed at the FX of the filed date, paid at the FX of the paid date, each rounded to cents per claim.
with

claims as (

    select * from {{ ref('stg_sheets__carrier_claims') }}

),

fx as (

    select * from {{ ref('int_fx__daily_rates') }}

),

final as (

    select
        claims.claim_id,
        claims.store_id,
        claims.order_name,
        claims.tracking_number,
        claims.carrier,
        claims.claim_type,
        claims.status,
        claims.filed_date,
        claims.paid_date,
        cast({{ dbt.date_trunc('month', 'claims.filed_date') }} as date) as filed_period_start,
        cast({{ dbt.date_trunc('month', 'claims.paid_date') }} as date) as paid_period_start,
        claims.currency as original_currency,
        claims.claimed_amount as original_claimed_amount,
        claims.paid_amount as original_paid_amount,
        {{ to_cents('claims.claimed_amount * filed_fx.rate_to_reporting') }} as claimed_amount,
        case
            when claims.status = 'paid'
                then {{ to_cents('coalesce(claims.paid_amount, 0) * paid_fx.rate_to_reporting') }}
        end as paid_amount,
        {{ dbt.datediff('claims.filed_date', 'claims.paid_date', 'day') }} as days_to_payment,  -- noqa: LT05
        '{{ var("reporting_currency") }}' as reporting_currency

    from claims
    left join fx as filed_fx
        on
            claims.currency = filed_fx.currency
            and claims.filed_date = filed_fx.rate_date
    left join fx as paid_fx
        on
            claims.currency = paid_fx.currency
            and claims.paid_date = paid_fx.rate_date

)

select * from final
