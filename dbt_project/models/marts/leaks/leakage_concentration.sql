-- One row per dimension × value × window (METRICS.md §4 leakage_by_dimension): leak cost, preventable cost,
-- revenue, leak_rate, share of the window's leak, Pareto rank and cumulative share. Windows are store-local
-- event / paid dates against the UTC date of the clock: the last full month and the trailing 90 days.
{%- set sale_dimensions = ['supplier', 'sku', 'store', 'market', 'carrier', 'carrier_market'] %}
{%- set event_dimensions = ['cause', 'agent'] %}

with

lines as (

    select * from {{ ref('int_leaks__event_lines') }}

),

order_lines as (

    select * from {{ ref('int_order_lines__costed') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

fulfillments as (

    select * from {{ ref('stg_shopify__fulfillments') }}
    where created_at <= {{ as_of_ts() }}

),

windows as (

    select * from {{ ref('int_leaks__windows') }}

),

first_fulfillments as (

    select
        order_id,
        tracking_company,
        row_number() over (partition by order_id order by created_at, fulfillment_id) as fulfillment_rank

    from fulfillments

),

sales as (

    select
        windows.time_window,
        order_lines.sku,
        coalesce(nullif(order_lines.supplier_id, ''), 'unmapped') as supplier,
        order_lines.store_id as store,
        stores.market,
        coalesce(first_fulfillments.tracking_company, 'unshipped') as carrier,
        coalesce(first_fulfillments.tracking_company, 'unshipped') || '/' || stores.market as carrier_market,
        order_lines.net_revenue

    from order_lines
    inner join windows
        on order_lines.paid_local_date between windows.window_start and windows.window_end
    inner join stores
        on order_lines.store_id = stores.store_id
    left join first_fulfillments
        on
            order_lines.order_id = first_fulfillments.order_id
            and first_fulfillments.fulfillment_rank = 1

),

leaks as (

    select
        windows.time_window,
        lines.sku,
        lines.supplier,
        lines.store_id as store,
        lines.market,
        lines.carrier,
        lines.carrier_market,
        lines.cause,
        lines.agent,
        lines.leak_cost,
        case when lines.is_preventable then lines.leak_cost else 0 end as preventable_leak_cost

    from lines
    inner join windows
        on lines.local_date between windows.window_start and windows.window_end

),

window_totals as (

    select
        windows.time_window,
        coalesce((
            select sum(leaks.leak_cost) from leaks
            where leaks.time_window = windows.time_window
        ), 0)
            as total_leak_cost,
        coalesce((
            select sum(sales.net_revenue) from sales
            where sales.time_window = windows.time_window
        ), 0)
            as total_revenue

    from windows

),

-- noqa: disable=LT02
-- (sqlfluff cannot follow indentation through the Jinja loops below)
slices as (

    {%- for dimension in sale_dimensions %}
    select
        time_window,
        '{{ dimension }}' as dimension,
        cast({{ dimension }} as varchar) as dimension_value,
        sum(leak_cost) as leak_cost,
        sum(preventable_leak_cost) as preventable_leak_cost,
        sum(revenue) as revenue
    from (
        select
            time_window,
            {{ dimension }},
            leak_cost,
            preventable_leak_cost,
            0 as revenue
        from leaks
        union all
        select
            time_window,
            {{ dimension }},
            0 as leak_cost,
            0 as preventable_leak_cost,
            net_revenue as revenue
        from sales
    ) as both_sides
    group by time_window, {{ dimension }}
    union all
    {%- endfor %}
    {%- for dimension in event_dimensions %}
    select
        leaks.time_window,
        '{{ dimension }}' as dimension,
        cast(leaks.{{ dimension }} as varchar) as dimension_value,
        sum(leaks.leak_cost) as leak_cost,
        sum(leaks.preventable_leak_cost) as preventable_leak_cost,
        max(window_totals.total_revenue) as revenue
    from leaks
    inner join window_totals
        on leaks.time_window = window_totals.time_window
    group by leaks.time_window, leaks.{{ dimension }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),
-- noqa: enable=LT02

rounded as (

    select
        slices.time_window,
        slices.dimension,
        slices.dimension_value,
        cast(round(cast(slices.leak_cost as decimal(38, 10)), 2) as decimal(18, 2)) as leak_cost,
        cast(round(cast(slices.preventable_leak_cost as decimal(38, 10)), 2) as decimal(18, 2))
            as preventable_leak_cost,
        cast(slices.revenue as decimal(18, 2)) as revenue,
        window_totals.total_leak_cost,
        window_totals.total_revenue

    from slices
    inner join window_totals
        on slices.time_window = window_totals.time_window

),

ranked as (

    select
        rounded.*,
        {{ safe_ratio('leak_cost', 'revenue') }} as leak_rate,
        {{ safe_ratio('leak_cost', 'total_leak_cost') }} as share,  -- noqa: RF04
        {{ safe_ratio('total_leak_cost', 'total_revenue') }} as portfolio_leak_rate,
        row_number() over (
            partition by rounded.time_window, rounded.dimension
            order by rounded.leak_cost desc, rounded.dimension_value asc
        ) as pareto_rank

    from rounded

),

final as (

    select
        cast(time_window as varchar) as time_window,
        cast(dimension as varchar) as dimension,
        cast(dimension_value as varchar) as dimension_value,
        cast(leak_cost as decimal(18, 2)) as leak_cost,
        cast(preventable_leak_cost as decimal(18, 2)) as preventable_leak_cost,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(leak_rate as double) as leak_rate,
        cast(share as double) as share,  -- noqa: RF04
        cast(pareto_rank as integer) as pareto_rank,
        cast(
            sum(share) over (
                partition by time_window, dimension
                order by pareto_rank
                rows between unbounded preceding and current row
            ) as double
        ) as cumulative_share,
        cast(portfolio_leak_rate as double) as portfolio_leak_rate,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ as_of_ts() }} as as_of

    from ranked

)

select * from final
