-- Leak KPIs (METRICS.md §3-§5, §10; rules in sandbox/world/leaks.md) per store and portfolio × local month, in
-- the long format of marts.kpis. Rows: every store × month with a paid order, a leak event or a processed
-- return, and the portfolio (pooled) for every such month. return_cycle_days_p50 is the continuous median of the
-- processed returns' cycle days (request -> closed by its refund / exchange) by local month of closing, dimension
-- NULL only (METRICS.md §13): Shopify's Return does not say which returns provider handled it.
{%- set kpi_dimensions = ['supplier', 'sku', 'market', 'carrier', 'cause'] %}

with

events as (

    select * from {{ ref('int_leaks__events') }}

),

lines as (

    select * from {{ ref('int_leaks__event_lines') }}

),

profit as (

    select * from {{ ref('int_orders__profit') }}

),

returns as (

    select * from {{ ref('returns') }}

),

-- events tagged with both levels: the store and the portfolio (store_id null)
leveled_events as (

    select
        store_id,
        period_start,
        cause,
        cause_source,
        is_preventable,
        resolution,
        is_compliant,
        is_cash_before_credit,
        is_over_limit_unapproved,
        leak_cost
    from events
    union all
    select
        cast(null as varchar) as store_id,
        period_start,
        cause,
        cause_source,
        is_preventable,
        resolution,
        is_compliant,
        is_cash_before_credit,
        is_over_limit_unapproved,
        leak_cost
    from events

),

leveled_returns as (

    select
        store_id,
        period_start,
        returns_provider,
        outcome,
        cycle_days
    from returns
    union all
    select
        cast(null as varchar) as store_id,
        period_start,
        returns_provider,
        outcome,
        cycle_days
    from returns

),

leveled_profit as (

    select
        store_id,
        period_start,
        gross_profit
    from profit
    union all
    select
        cast(null as varchar) as store_id,
        period_start,
        gross_profit
    from profit

),

grid as (

    select
        store_id,
        period_start
    from leveled_profit
    union
    select
        store_id,
        period_start
    from leveled_events
    union
    select
        store_id,
        period_start
    from leveled_returns

),

profit_monthly as (

    select
        store_id,
        period_start,
        sum(gross_profit) as gross_profit

    from leveled_profit
    group by store_id, period_start

),

events_monthly as (

    select
        store_id,
        period_start,
        sum(leak_cost) as refund_cost,
        sum(case when is_preventable then leak_cost else 0 end) as preventable_refund_cost,
        sum(case when cause_source != 'unknown' then leak_cost else 0 end) as known_cause_cost,
        sum(case when cause_source = 'tagged' then leak_cost else 0 end) as tagged_cost,
        sum(case when resolution is not null then 1 else 0 end) as resolved_events,
        sum(case when is_compliant then 1 else 0 end) as compliant_events,
        sum(case when is_cash_before_credit then 1 else 0 end) as cash_before_credit_count,
        sum(case when is_over_limit_unapproved then 1 else 0 end) as over_limit_unapproved_count

    from leveled_events
    group by store_id, period_start

),

returns_monthly as (

    select
        store_id,
        period_start,
        sum(case when outcome = 'exchange' then 1 else 0 end) as exchanges,
        sum(case when outcome = 'refund' then 1 else 0 end) as refunds,
        percentile_cont(0.5) within group (order by cycle_days) as return_cycle_days_p50

    from leveled_returns
    group by store_id, period_start

),

levels as (

    select
        grid.store_id,
        grid.period_start,
        coalesce(profit_monthly.gross_profit, 0) as gross_profit,
        coalesce(events_monthly.refund_cost, 0) as refund_cost,
        coalesce(events_monthly.preventable_refund_cost, 0) as preventable_refund_cost,
        coalesce(events_monthly.known_cause_cost, 0) as known_cause_cost,
        coalesce(events_monthly.tagged_cost, 0) as tagged_cost,
        coalesce(events_monthly.resolved_events, 0) as resolved_events,
        coalesce(events_monthly.compliant_events, 0) as compliant_events,
        coalesce(events_monthly.cash_before_credit_count, 0) as cash_before_credit_count,
        coalesce(events_monthly.over_limit_unapproved_count, 0) as over_limit_unapproved_count,
        coalesce(returns_monthly.exchanges, 0) as exchanges,
        coalesce(returns_monthly.refunds, 0) as return_refunds,
        returns_monthly.return_cycle_days_p50

    from grid
    left join profit_monthly
        on
            coalesce(grid.store_id, '') = coalesce(profit_monthly.store_id, '')
            and grid.period_start = profit_monthly.period_start
    left join events_monthly
        on
            coalesce(grid.store_id, '') = coalesce(events_monthly.store_id, '')
            and grid.period_start = events_monthly.period_start
    left join returns_monthly
        on
            coalesce(grid.store_id, '') = coalesce(returns_monthly.store_id, '')
            and grid.period_start = returns_monthly.period_start

),

cause_levels as (

    select
        leveled_events.store_id,
        leveled_events.period_start,
        leveled_events.cause,
        sum(leveled_events.leak_cost) as refund_cost,
        max(levels.gross_profit) as gross_profit

    from leveled_events
    inner join levels
        on
            coalesce(leveled_events.store_id, '') = coalesce(levels.store_id, '')
            and leveled_events.period_start = levels.period_start
    group by leveled_events.store_id, leveled_events.period_start, leveled_events.cause

),

leveled_lines as (

    {%- for dimension in kpi_dimensions %}
        select
            store_id,
            period_start,
            '{{ dimension }}' as dimension,
            cast({{ dimension }} as varchar) as dimension_value,
            leak_cost
        from lines
        union all
        select
            cast(null as varchar) as store_id,
            period_start,
            '{{ dimension }}' as dimension,
            cast({{ dimension }} as varchar) as dimension_value,
            leak_cost
        from lines
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

dimension_levels as (

    select
        store_id,
        period_start,
        dimension,
        dimension_value,
        round(cast(sum(leak_cost) as decimal(38, 10)), 2) as leak_cost

    from leveled_lines
    group by store_id, period_start, dimension, dimension_value

),

-- noqa: disable=LT02
-- (sqlfluff cannot follow indentation through the Jinja loop below)
long_format as (

    {%- set level_metrics = [
        ('refund_cost', 'refund_cost'),
        ('refund_cost_pct_of_profit', safe_ratio('refund_cost', 'gross_profit')),
        ('preventable_refund_cost', 'preventable_refund_cost'),
        ('preventable_share', safe_ratio('preventable_refund_cost', 'refund_cost')),
        ('cause_coverage', safe_ratio('known_cause_cost', 'refund_cost')),
        ('tagged_share', safe_ratio('tagged_cost', 'refund_cost')),
        ('matrix_compliance_rate', safe_ratio('compliant_events', 'resolved_events')),
        ('cash_before_credit_count', 'cash_before_credit_count'),
        ('over_limit_unapproved_count', 'over_limit_unapproved_count'),
        ('exchange_share', safe_ratio('exchanges', 'exchanges + return_refunds')),
        ('return_cycle_days_p50', 'return_cycle_days_p50'),
    ] %}

    {%- for metric, expression in level_metrics %}
    select
        store_id,
        period_start,
        '{{ metric }}' as metric,
        cast(null as varchar) as dimension,
        cast(null as varchar) as dimension_value,
        cast({{ expression }} as double) as value
    from levels
    union all
    {%- endfor %}
    select
        store_id,
        period_start,
        'refund_cost' as metric,
        'cause' as dimension,
        cause as dimension_value,
        cast(refund_cost as double) as value
    from cause_levels
    union all
    select
        store_id,
        period_start,
        'refund_cost_pct_of_profit' as metric,
        'cause' as dimension,
        cause as dimension_value,
        {{ safe_ratio('refund_cost', 'gross_profit') }} as value
    from cause_levels
    union all
    select
        store_id,
        period_start,
        'leak_cost' as metric,
        dimension,
        dimension_value,
        cast(leak_cost as double) as value
    from dimension_levels

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
