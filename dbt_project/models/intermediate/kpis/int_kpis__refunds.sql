-- Orders, profit and refund-leakage KPIs (METRICS.md §2-§3) in the long format of marts.kpis.
with

profit as (

    select * from {{ ref('int_orders__profit') }}

),

leaks as (

    select * from {{ ref('leak_events') }}

),

orders_monthly as (

    select
        store_id,
        period_start,
        count(*) as orders_paid,
        sum(net_revenue) as net_revenue,
        sum(gross_profit) as gross_profit,
        -- the slice's profit (no labels / fees): refund_cost_pct_of_profit's ground truth still uses it until the
        -- leak-marts branch promotes the full leak cost
        sum(slice_gross_profit) as slice_gross_profit

    from profit
    group by store_id, period_start

),

leaks_monthly as (

    select
        store_id,
        period_start,
        sum(refund_cost) as refund_cost,
        sum(case when is_preventable then refund_cost else 0 end) as preventable_refund_cost,
        sum(case when cause_source != 'unknown' then refund_cost else 0 end) as known_cause_cost,
        sum(case when cause_source = 'tagged' then refund_cost else 0 end) as tagged_cost

    from leaks
    group by store_id, period_start

),

store_months as (

    select
        store_id,
        period_start
    from orders_monthly
    union
    select
        store_id,
        period_start
    from leaks_monthly

),

store_level as (

    select
        store_months.store_id,
        store_months.period_start,
        coalesce(orders_monthly.orders_paid, 0) as orders_paid,
        coalesce(orders_monthly.net_revenue, 0) as net_revenue,
        coalesce(orders_monthly.gross_profit, 0) as gross_profit,
        coalesce(orders_monthly.slice_gross_profit, 0) as slice_gross_profit,
        coalesce(leaks_monthly.refund_cost, 0) as refund_cost,
        coalesce(leaks_monthly.preventable_refund_cost, 0) as preventable_refund_cost,
        coalesce(leaks_monthly.known_cause_cost, 0) as known_cause_cost,
        coalesce(leaks_monthly.tagged_cost, 0) as tagged_cost

    from store_months
    left join orders_monthly
        on
            store_months.store_id = orders_monthly.store_id
            and store_months.period_start = orders_monthly.period_start
    left join leaks_monthly
        on
            store_months.store_id = leaks_monthly.store_id
            and store_months.period_start = leaks_monthly.period_start

),

portfolio_level as (

    select
        cast(null as varchar) as store_id,
        period_start,
        sum(orders_paid) as orders_paid,
        sum(net_revenue) as net_revenue,
        sum(gross_profit) as gross_profit,
        sum(slice_gross_profit) as slice_gross_profit,
        sum(refund_cost) as refund_cost,
        sum(preventable_refund_cost) as preventable_refund_cost,
        sum(known_cause_cost) as known_cause_cost,
        sum(tagged_cost) as tagged_cost

    from store_level
    group by period_start

),

levels as (

    select * from store_level
    union all
    select * from portfolio_level

),

cause_store as (

    select
        store_id,
        period_start,
        cause,
        sum(refund_cost) as refund_cost

    from leaks
    group by store_id, period_start, cause

),

cause_portfolio as (

    select
        cast(null as varchar) as store_id,
        period_start,
        cause,
        sum(refund_cost) as refund_cost

    from leaks
    group by period_start, cause

),

cause_levels as (

    select
        causes.store_id,
        causes.period_start,
        causes.cause,
        causes.refund_cost,
        levels.slice_gross_profit

    from (
        select * from cause_store
        union all
        select * from cause_portfolio
    ) as causes
    inner join levels
        on
            causes.period_start = levels.period_start
            and coalesce(causes.store_id, '') = coalesce(levels.store_id, '')

),

-- noqa: disable=LT02
-- (sqlfluff cannot follow indentation through the Jinja loops below)
long_format as (

    {%- set level_metrics = [
        ('orders_paid', 'orders_paid'),
        ('net_revenue', 'net_revenue'),
        ('gross_profit', 'gross_profit'),
        ('refund_cost', 'refund_cost'),
        ('preventable_refund_cost', 'preventable_refund_cost'),
        ('refund_cost_pct_of_profit', safe_ratio('refund_cost', 'slice_gross_profit')),
        ('preventable_share', safe_ratio('preventable_refund_cost', 'refund_cost')),
        ('cause_coverage', safe_ratio('known_cause_cost', 'refund_cost')),
        ('tagged_share', safe_ratio('tagged_cost', 'refund_cost')),
    ] %}
    {%- set cause_metrics = [
        ('refund_cost', 'refund_cost'),
        ('refund_cost_pct_of_profit', safe_ratio('refund_cost', 'slice_gross_profit')),
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
    {%- for metric, expression in cause_metrics %}
    select
        store_id,
        period_start,
        '{{ metric }}' as metric,
        'cause' as dimension,
        cause as dimension_value,
        cast({{ expression }} as double) as value
    from cause_levels
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
