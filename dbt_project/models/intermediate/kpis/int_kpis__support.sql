-- Support-quality KPIs (METRICS.md §9, §13; support.md metric rules) in the long format of marts.kpis: per
-- store × local month of created_at with at least one conversation (spam included), and pooled for the
-- portfolio; every metric on every row, NULL when its population is empty.
with

tickets as (

    select * from {{ ref('support_tickets') }}

),

-- one row per conversation per level: its store, and the portfolio (store_id null)
leveled as (

    select
        store_id,
        period_start,
        is_frt_population,
        is_issue_ticket,
        is_template_required,
        first_response_hours,
        first_response_business_hours,
        is_within_frt_target,
        counts_for_frt_target,
        is_resolved_within_3_exchanges,
        template_replies,
        exchanges
    from tickets
    union all
    select
        cast(null as varchar) as store_id,
        period_start,
        is_frt_population,
        is_issue_ticket,
        is_template_required,
        first_response_hours,
        first_response_business_hours,
        is_within_frt_target,
        counts_for_frt_target,
        is_resolved_within_3_exchanges,
        template_replies,
        exchanges
    from tickets

),

levels as (

    select
        leveled.store_id,
        leveled.period_start,
        percentile_cont(0.5) within group (
            order by case when leveled.is_frt_population then leveled.first_response_hours end
        ) as first_response_hours_p50,
        percentile_cont(0.5) within group (
            order by case when leveled.is_frt_population then leveled.first_response_business_hours end
        ) as first_response_business_hours_p50,
        {{ safe_ratio(
            'sum(case when leveled.is_within_frt_target then 1 else 0 end)',
            'sum(case when leveled.counts_for_frt_target then 1 else 0 end)') }} as frt_within_target_rate,
        percentile_cont(0.5) within group (
            order by case
                when leveled.is_frt_population and leveled.is_issue_ticket
                    then leveled.first_response_business_hours
            end
        ) as refund_ticket_first_response_business_hours_p50,
        {{ safe_ratio(
            'sum(case when leveled.is_resolved_within_3_exchanges then 1 else 0 end)',
            'sum(case when leveled.is_resolved_within_3_exchanges is not null then 1 else 0 end)') }}
            as resolved_within_3_exchanges_rate,
        {{ safe_ratio(
            'sum(case when leveled.is_template_required then leveled.template_replies else 0 end)',
            'sum(case when leveled.is_template_required then leveled.exchanges else 0 end)') }}
            as template_usage_rate

    from leveled
    group by leveled.store_id, leveled.period_start

),

-- noqa: disable=LT02
-- (sqlfluff cannot follow indentation through the Jinja loop below)
long_format as (

    {%- set metrics = [
        'first_response_hours_p50',
        'first_response_business_hours_p50',
        'frt_within_target_rate',
        'refund_ticket_first_response_business_hours_p50',
        'resolved_within_3_exchanges_rate',
        'template_usage_rate',
    ] %}
    {%- for metric in metrics %}
    select
        store_id,
        period_start,
        '{{ metric }}' as metric,
        cast(null as varchar) as dimension,
        cast(null as varchar) as dimension_value,
        cast({{ metric }} as double) as value
    from levels
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),
-- noqa: enable=LT02

final as (

    select
        metric,
        store_id,
        period_start,
        'month' as grain,
        dimension,
        dimension_value,
        value

    from long_format

)

select * from final
