-- One row per Stripe dispute (chargebacks and inquiries) at the run's as-of time: store, order and card brand
-- inherited from the charge, local month of `created`, net dispute fees of its balance transactions, cost in
-- original and reporting currency (FX of the created local date, rounded per dispute) and the deadline flags
-- (METRICS.md §6).
with

disputes as (

    select * from {{ ref('stg_stripe__disputes') }}
    where created_at <= {{ as_of_ts() }}

),

charges as (

    select * from {{ ref('int_payments__charges_mapped') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

balance_transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}
    where created_at <= {{ as_of_ts() }}

),

fx as (

    select * from {{ ref('int_fx__daily_rates') }}

),

fees as (

    select
        dispute_id,
        sum(fee_cents) as fee_cents

    from balance_transactions
    where dispute_id is not null
    group by dispute_id

),

localised as (

    select
        disputes.dispute_id,
        disputes.charge_id,
        charges.order_id,
        charges.store_id,
        coalesce(charges.card_brand, disputes.card_brand) as card_brand,
        disputes.reason,
        disputes.network_reason_code,
        disputes.status,
        disputes.is_inquiry,
        disputes.created_at,
        disputes.evidence_due_by,
        disputes.has_evidence,
        disputes.is_past_due,
        disputes.currency,
        disputes.amount_cents,
        coalesce(fees.fee_cents, 0) as fee_cents,
        case when disputes.status = 'lost' then disputes.amount_cents else 0 end as amount_lost_cents,
        coalesce(
            cast({{ to_local('disputes.created_at', 'stores.timezone') }} as date),
            cast({{ to_local('disputes.created_at', "'UTC'") }} as date)
        ) as local_date

    from disputes
    left join charges
        on disputes.charge_id = charges.charge_id
    left join stores
        on charges.store_id = stores.store_id
    left join fees
        on disputes.dispute_id = fees.dispute_id

),

final as (

    select
        localised.dispute_id,
        localised.charge_id,
        localised.order_id,
        localised.store_id,
        localised.card_brand,
        localised.reason,
        localised.network_reason_code,
        localised.status,
        localised.is_inquiry,
        localised.created_at,
        localised.local_date,
        cast({{ dbt.date_trunc('month', 'localised.local_date') }} as date) as period_start,
        localised.evidence_due_by,
        localised.has_evidence,
        localised.is_past_due,
        localised.currency,
        cast(cast(localised.amount_cents as decimal(18, 2)) / 100 as decimal(18, 2)) as amount_local,
        cast(cast(localised.amount_lost_cents as decimal(18, 2)) / 100 as decimal(18, 2)) as amount_lost_local,
        cast(cast(localised.fee_cents as decimal(18, 2)) / 100 as decimal(18, 2)) as fees_local,
        cast(
            cast(localised.amount_lost_cents + localised.fee_cents as decimal(18, 2)) / 100 as decimal(18, 2)
        ) as cost_local,
        {{ to_cents('(localised.amount_lost_cents + localised.fee_cents) / 100.0 * fx.rate_to_reporting') }}
            as chargeback_cost,
        not localised.is_inquiry
        and localised.status = 'needs_response'
        and localised.evidence_due_by > {{ as_of_ts() }}
        and localised.evidence_due_by <= {{ dbt.dateadd('hour', 72, as_of_ts()) }} as is_at_risk,
        not localised.is_inquiry
        and localised.evidence_due_by <= {{ as_of_ts() }}
        and (not localised.has_evidence or localised.is_past_due) as is_missed

    from localised
    left join fx
        on
            localised.currency = fx.currency
            and localised.local_date = fx.rate_date

)

select * from final
