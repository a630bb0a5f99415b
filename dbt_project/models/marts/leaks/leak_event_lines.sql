-- One row per leak event × SKU (METRICS.md §4 attribution): the event's cost split over its SKUs, with the
-- supplier, store, market, carrier and cause each slice of leakage_concentration is cut by. An event's lines
-- with the same SKU (two order lines of one SKU) are one row here.
with

event_lines as (

    select * from {{ ref('int_leaks__event_lines') }}

),

per_sku as (

    select
        leak_event_id,
        sku,
        supplier,
        store_id,
        market,
        carrier,
        carrier_market,
        cause,
        agent,
        is_preventable,
        local_date,
        period_start,
        sum(share) as share,  -- noqa: RF04
        sum(leak_cost) as leak_cost

    from event_lines
    group by
        leak_event_id,
        sku,
        supplier,
        store_id,
        market,
        carrier,
        carrier_market,
        cause,
        agent,
        is_preventable,
        local_date,
        period_start

),

final as (

    select
        cast(leak_event_id as varchar) as leak_event_id,
        cast(sku as varchar) as sku,
        cast(supplier as varchar) as supplier,
        cast(store_id as varchar) as store_id,
        cast(market as varchar) as market,
        cast(carrier as varchar) as carrier,
        cast(carrier_market as varchar) as carrier_market,
        cast(cause as varchar) as cause,
        cast(agent as varchar) as agent,
        cast(is_preventable as boolean) as is_preventable,
        cast(local_date as date) as local_date,
        cast(period_start as date) as period_start,
        cast(share as double) as share,  -- noqa: RF04
        cast(round(leak_cost, 2) as decimal(18, 2)) as leak_cost,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ as_of_ts() }} as as_of

    from per_sku

)

select * from final
