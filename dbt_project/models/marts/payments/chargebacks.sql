-- One row per Stripe chargeback (inquiries excluded) at the run's as-of time: reason, status, amounts, net
-- fees, cost, evidence deadline flags, preventability (and why) and the leak cause mapped from the reason (§6).
with

disputes as (

    select * from {{ ref('int_payments__disputes_costed') }}
    where not is_inquiry

),

preventability as (

    select * from {{ ref('int_payments__dispute_preventability') }}

),

-- orders with a parcel delivered by the clock: product_not_received is then a late delivery, not a loss
delivered_orders as (

    select distinct order_id
    from {{ ref('int_fulfilment__parcels') }}
    where delivered_at <= {{ as_of_ts() }}

),

final as (

    select
        cast(disputes.dispute_id as varchar) as dispute_id,
        cast(disputes.charge_id as varchar) as charge_id,
        cast(disputes.order_id as varchar) as order_id,
        cast(disputes.store_id as varchar) as store_id,
        cast(disputes.card_brand as varchar) as card_brand,
        cast(disputes.reason as varchar) as reason,
        cast(disputes.network_reason_code as varchar) as network_reason_code,
        cast(disputes.status as varchar) as status,
        cast(disputes.created_at as timestamp with time zone) as created_at,
        cast(disputes.local_date as date) as local_date,
        cast(disputes.period_start as date) as period_start,
        cast(disputes.evidence_due_by as timestamp with time zone) as evidence_due_by,
        cast(disputes.has_evidence as boolean) as has_evidence,
        cast(disputes.is_at_risk as boolean) as is_at_risk,
        cast(disputes.is_missed as boolean) as is_missed,
        cast(disputes.currency as varchar) as currency,
        cast(disputes.amount_local as decimal(18, 2)) as amount_local,
        cast(disputes.amount_lost_local as decimal(18, 2)) as amount_lost_local,
        cast(disputes.fees_local as decimal(18, 2)) as fees_local,
        cast(disputes.cost_local as decimal(18, 2)) as cost_local,
        cast(disputes.chargeback_cost as decimal(18, 2)) as chargeback_cost,
        cast(preventability.is_preventable as boolean) as is_preventable,
        cast(preventability.preventable_because as varchar) as preventable_because,
        cast(
            case
                when disputes.reason = 'product_not_received' and delivered_orders.order_id is not null
                    then 'late_delivery'
                when disputes.reason = 'product_not_received' then 'lost_in_transit'
                when disputes.reason = 'product_unacceptable' then 'not_as_described'
                when disputes.reason = 'fraudulent' then 'fraud'
                when disputes.reason = 'credit_not_processed' then 'refund_process_failure'
                when disputes.reason = 'duplicate' then 'duplicate_charge'
                else 'unknown'
            end as varchar
        ) as cause

    from disputes
    left join preventability
        on disputes.dispute_id = preventability.dispute_id
    left join delivered_orders
        on disputes.order_id = delivered_orders.order_id

)

select * from final
