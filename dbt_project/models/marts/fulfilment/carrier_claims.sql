-- One row per claim-eligible parcel (§8) with its claim from the log when filed: money in the reporting currency.
with

eligible as (

    select * from {{ ref('int_fulfilment__claim_eligibility') }}

),

claims as (

    select * from {{ ref('int_fulfilment__claims') }}

),

first_claims as (

    select
        *,
        row_number() over (partition by tracking_number order by filed_date, claim_id) as claim_rank
    from claims

),

final as (

    select
        cast(eligible.tracking_id as varchar) as tracking_id,
        cast(eligible.tracking_number as varchar) as tracking_number,
        cast(eligible.store_id as varchar) as store_id,
        cast(eligible.market as varchar) as market,
        cast(eligible.carrier as varchar) as carrier,
        cast(eligible.claim_type as varchar) as claim_type,
        cast(eligible.claim_period_start as date) as period_start,
        cast(eligible.claim_window_end_date as date) as claim_window_end_date,
        cast(eligible.has_claim as boolean) as has_claim,
        cast(eligible.is_unfiled_past_window as boolean) as is_unfiled_past_window,
        cast(first_claims.claim_id as varchar) as claim_id,
        cast(first_claims.status as varchar) as claim_status,
        cast(first_claims.filed_date as date) as filed_date,
        cast(first_claims.paid_date as date) as paid_date,
        cast(first_claims.original_currency as varchar) as original_currency,
        cast(first_claims.original_claimed_amount as decimal(18, 2)) as original_claimed_amount,
        cast(first_claims.claimed_amount as decimal(18, 2)) as claimed_amount,
        cast(first_claims.paid_amount as decimal(18, 2)) as paid_amount,
        cast(first_claims.days_to_payment as integer) as days_to_payment,
        cast(first_claims.reporting_currency as varchar) as reporting_currency,
        {{ as_of_ts() }} as as_of

    from eligible
    left join first_claims
        on
            eligible.tracking_number = first_claims.tracking_number
            and first_claims.claim_rank = 1

)

select * from final
