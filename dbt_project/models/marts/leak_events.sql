-- One row per leak event of every kind (METRICS.md §3, §5): Shopify refunds, replacement orders, store-credit
-- transactions and lost chargebacks, with every cost component, cause, preventability and the §5 fields.
with

events as (

    select * from {{ ref('int_leaks__events') }}

),

causes as (

    select * from {{ ref('stg_sheets__refund_causes') }}

),

final as (

    select
        cast(events.leak_event_id as varchar) as leak_event_id,
        cast(events.event_type as varchar) as event_type,
        cast(events.source_id as varchar) as source_id,
        cast(events.order_id as varchar) as order_id,
        cast(events.store_id as varchar) as store_id,
        cast(events.market as varchar) as market,
        cast(events.occurred_at as timestamp with time zone) as occurred_at,
        cast(events.local_date as date) as local_date,
        cast(events.period_start as date) as period_start,
        cast(events.resolution as varchar) as resolution,
        cast(events.cause as varchar) as cause,
        cast(causes.cause_label as varchar) as cause_label,
        cast(causes.cause_owner as varchar) as cause_owner,
        cast(events.cause_source as varchar) as cause_source,
        cast(events.is_preventable as boolean) as is_preventable,
        cast(events.staff as varchar) as staff,
        cast(events.original_currency as varchar) as original_currency,
        cast(events.original_amount as decimal(18, 2)) as original_amount,
        cast(events.cash_refunded as decimal(18, 2)) as cash_refunded,
        cast(events.store_credit_issued as decimal(18, 2)) as store_credit_issued,
        cast(events.store_credit_cost as decimal(18, 2)) as store_credit_cost,
        cast(events.replacement_cost as decimal(18, 2)) as replacement_cost,
        cast(events.return_label_cost as decimal(18, 2)) as return_label_cost,
        cast(events.restocked_cogs as decimal(18, 2)) as restocked_cogs,
        cast(events.recoveries as decimal(18, 2)) as recoveries,
        cast(events.chargeback_cost as decimal(18, 2)) as chargeback_cost,
        cast(events.leak_cost as decimal(18, 2)) as refund_cost,
        cast(events.order_value as decimal(18, 2)) as order_value,
        cast(events.value_band as varchar) as value_band,
        cast(events.first_choice as varchar) as first_choice,
        cast(events.is_escalated as boolean) as is_escalated,
        cast(events.is_compliant as boolean) as is_compliant,
        cast(events.is_cash_before_credit as boolean) as is_cash_before_credit,
        cast(events.approval_limit as decimal(18, 2)) as approval_limit,
        cast(events.is_over_limit_unapproved as boolean) as is_over_limit_unapproved,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ as_of_ts() }} as as_of

    from events
    left join causes
        on events.cause = causes.cause

)

select * from final
