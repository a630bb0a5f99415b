-- One row per leak event (so far: Shopify refunds) with its cost, cause and preventability (METRICS.md §3).
with

refunds as (

    select * from {{ ref('int_refunds__costed') }}

),

causes as (

    select * from {{ ref('stg_sheets__refund_causes') }}

),

final as (

    select
        'refund:' || refunds.refund_id as leak_event_id,
        'refund' as event_type,
        refunds.refund_id as source_id,
        refunds.order_id,
        refunds.store_id,
        refunds.occurred_at,
        refunds.local_date,
        refunds.period_start,
        refunds.cause,
        causes.cause_label,
        causes.cause_owner,
        refunds.cause_source,
        refunds.is_preventable,
        refunds.currency as original_currency,
        refunds.cash_refunded_local as original_amount,
        cast(refunds.refund_cost as decimal(18, 2)) as refund_cost,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ as_of_ts() }} as as_of

    from refunds
    left join causes
        on refunds.cause = causes.cause

)

select * from final
