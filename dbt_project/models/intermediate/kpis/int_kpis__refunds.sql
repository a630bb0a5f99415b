-- Orders and profit KPIs (METRICS.md §2) per store and portfolio × local month, in the long format of marts.kpis.
-- The refund-leakage KPIs (§3-§5, §10) are int_kpis__leaks'.
with

profit as (

    select * from {{ ref('int_orders__profit') }}

),

store_level as (

    select
        store_id,
        period_start,
        count(*) as orders_paid,
        sum(net_revenue) as net_revenue,
        sum(gross_profit) as gross_profit

    from profit
    group by store_id, period_start

),

portfolio_level as (

    select
        cast(null as varchar) as store_id,
        period_start,
        sum(orders_paid) as orders_paid,
        sum(net_revenue) as net_revenue,
        sum(gross_profit) as gross_profit

    from store_level
    group by period_start

),

levels as (

    select * from store_level
    union all
    select * from portfolio_level

),

-- noqa: disable=LT02
-- (sqlfluff cannot follow indentation through the Jinja loop below)
long_format as (

    {%- for metric in ['orders_paid', 'net_revenue', 'gross_profit'] %}
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
