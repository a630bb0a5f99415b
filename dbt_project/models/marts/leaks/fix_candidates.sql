-- One row per fix candidate (METRICS.md §4): a slice of a sale dimension (not cause, not agent) with preventable
-- leak cost > 0 and leak_rate ≥ 2 × the portfolio rate, ranked per window by excess_leak = (slice rate −
-- portfolio rate) × slice revenue, with its dominant cause, the cause's owner and the owner's suggested action.
with

slices as (

    select * from {{ ref('leakage_concentration') }}
    where
        dimension not in ('cause', 'agent')
        and preventable_leak_cost > 0
        and leak_rate is not null
        and leak_rate >= 2 * portfolio_leak_rate

),

lines as (

    select * from {{ ref('int_leaks__event_lines') }}

),

causes as (

    select * from {{ ref('stg_sheets__refund_causes') }}

),

windows as (

    select * from {{ ref('int_leaks__windows') }}

),

line_slices as (

    select
        windows.time_window,
        lines.cause,
        lines.leak_cost,
        lines.supplier,
        lines.sku,
        lines.store_id as store,
        lines.market,
        lines.carrier,
        lines.carrier_market

    from lines
    inner join windows
        on lines.local_date between windows.window_start and windows.window_end

),

slice_causes as (

    select
        slices.time_window,
        slices.dimension,
        slices.dimension_value,
        line_slices.cause,
        sum(line_slices.leak_cost) as cause_cost

    from slices
    inner join line_slices
        on
            slices.time_window = line_slices.time_window
            and slices.dimension_value = case slices.dimension
                when 'supplier' then line_slices.supplier
                when 'sku' then line_slices.sku
                when 'store' then line_slices.store
                when 'market' then line_slices.market
                when 'carrier' then line_slices.carrier
                when 'carrier_market' then line_slices.carrier_market
            end
    group by slices.time_window, slices.dimension, slices.dimension_value, line_slices.cause

),

dominant as (

    select
        time_window,
        dimension,
        dimension_value,
        cause,
        row_number() over (
            partition by time_window, dimension, dimension_value
            order by cause_cost desc, cause asc
        ) as cause_rank

    from slice_causes

),

candidates as (

    select
        slices.time_window,
        slices.dimension,
        slices.dimension_value,
        slices.leak_cost,
        slices.preventable_leak_cost,
        slices.revenue,
        slices.leak_rate,
        slices.portfolio_leak_rate,
        (slices.leak_rate - slices.portfolio_leak_rate) * cast(slices.revenue as double) as excess_leak,
        coalesce(dominant.cause, 'unknown') as dominant_cause,
        coalesce(causes.cause_owner, 'support') as owner  -- noqa: RF04

    from slices
    left join dominant
        on
            slices.time_window = dominant.time_window
            and slices.dimension = dominant.dimension
            and slices.dimension_value = dominant.dimension_value
            and dominant.cause_rank = 1
    left join causes
        on coalesce(dominant.cause, 'unknown') = causes.cause

),

final as (

    select
        cast(time_window as varchar) as time_window,
        cast(
            row_number() over (
                partition by time_window
                order by excess_leak desc, dimension asc, dimension_value asc
            ) as integer
        ) as fix_rank,
        cast(dimension as varchar) as dimension,
        cast(dimension_value as varchar) as dimension_value,
        cast(leak_cost as decimal(18, 2)) as leak_cost,
        cast(preventable_leak_cost as decimal(18, 2)) as preventable_leak_cost,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(leak_rate as double) as leak_rate,
        cast(portfolio_leak_rate as double) as portfolio_leak_rate,
        cast(excess_leak as double) as excess_leak,
        cast(dominant_cause as varchar) as dominant_cause,
        cast(owner as varchar) as owner,  -- noqa: RF04
        cast(
            case owner
                when 'supplier' then 'QC at the supplier / claim a supplier credit'
                when 'carrier' then 'packaging, carrier switch or file the carrier claim'
                when 'warehouse' then 'pick-check before dispatch'
                when 'listing' then 'fix the description or the size guide'
                when 'support' then 'response template / agent training'
                when 'customer' then 'review the returns policy'
                when 'payments' then 'fraud screening / payment settings'
            end as varchar
        ) as suggested_action,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ as_of_ts() }} as as_of

    from candidates

)

select * from final
