-- One row per resolved leak event (METRICS.md §5): its resolution against the refund_decision_matrix (cause ×
-- order value band → first choice, allowed), escalation, compliance, cash before credit and approval limit.
with

events as (

    select * from {{ ref('int_leaks__events') }}
    where resolution is not null

),

final as (

    select
        cast(leak_event_id as varchar) as leak_event_id,
        cast(event_type as varchar) as event_type,
        cast(order_id as varchar) as order_id,
        cast(store_id as varchar) as store_id,
        cast(local_date as date) as local_date,
        cast(period_start as date) as period_start,
        cast(staff as varchar) as staff,
        cast(cause as varchar) as cause,
        cast(resolution as varchar) as resolution,
        cast(order_value as decimal(18, 2)) as order_value,
        cast(value_band as varchar) as value_band,
        cast(first_choice as varchar) as first_choice,
        cast(is_escalated as boolean) as is_escalated,
        cast(is_compliant as boolean) as is_compliant,
        cast(is_cash_before_credit as boolean) as is_cash_before_credit,
        cast(
            case when event_type = 'refund' then cash_refunded else store_credit_issued end as decimal(18, 2)
        ) as approval_amount,
        cast(approval_limit as decimal(18, 2)) as approval_limit,
        cast(is_over_limit_unapproved as boolean) as is_over_limit_unapproved,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ as_of_ts() }} as as_of

    from events

)

select * from final
