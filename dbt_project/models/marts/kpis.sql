-- Every KPI in one long table (METRICS.md §13): per store and for the portfolio (store_id null).
-- Each area computes its KPIs in intermediate/kpis/int_kpis__<area>.sql with the same seven columns.
{%- set area_kpis = [
    'int_kpis__refunds',
    'int_kpis__leaks',
    'int_kpis__support',
    'int_kpis__payments',
    'int_kpis__fulfilment',
] %}

with

-- noqa: disable=LT02
-- (sqlfluff cannot follow indentation through the Jinja loop below)
area_kpis as (

    {%- for model in area_kpis %}
        select
            metric,
            store_id,
            period_start,
            grain,
            dimension,
            dimension_value,
            value
        from {{ ref(model) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),
-- noqa: enable=LT02

final as (

    select
        cast(metric as varchar) as metric,
        cast(store_id as varchar) as store_id,
        cast(period_start as date) as period_start,
        cast(grain as varchar) as grain,
        cast(dimension as varchar) as dimension,
        cast(dimension_value as varchar) as dimension_value,
        cast(value as double) as value,
        {{ as_of_ts() }} as as_of

    from area_kpis

)

select * from final
