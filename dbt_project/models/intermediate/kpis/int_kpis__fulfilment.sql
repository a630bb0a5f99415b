-- Fulfilment, carrier and claim KPIs (METRICS.md §7-§8, rules in sandbox/world/fulfilment.md) in the long
-- format of marts.kpis. Portfolio rows (store_id null) pool the underlying parcels / claims of every store.
with

store_months as (

    select * from {{ ref('int_fulfilment__store_months') }}

),

parcels as (

    select * from {{ ref('int_fulfilment__parcels') }}

),

claims as (

    select * from {{ ref('int_fulfilment__claims') }}

),

orders as (

    select * from {{ ref('int_fulfilment__order_sla') }}

),

supplier_lines as (

    select * from {{ ref('int_fulfilment__supplier_lines') }}

),

eligible as (

    select * from {{ ref('int_fulfilment__claim_eligibility') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

grid as (

    select
        store_id,
        period_start
    from store_months
    union
    select distinct
        cast(null as varchar) as store_id,
        period_start
    from store_months

),

-- every fact twice: once for its store, once for the portfolio (store_id null)
delivered as (

    select
        store_id,
        carrier,
        delivery_period_start as period_start,
        transit_days,
        is_on_time
    from parcels
    where transit_days is not null
    union all
    select
        cast(null as varchar) as store_id,
        carrier,
        delivery_period_start as period_start,
        transit_days,
        is_on_time
    from parcels
    where transit_days is not null

),

order_facts as (

    select
        store_id,
        period_start,
        is_shipped_within_48h
    from orders
    where is_sla_decided
    union all
    select
        cast(null as varchar) as store_id,
        period_start,
        is_shipped_within_48h
    from orders
    where is_sla_decided

),

supplier_facts as (

    select
        store_id,
        period_start,
        is_dispatch_on_time and is_transit_on_time as is_on_time
    from supplier_lines
    where is_transit_on_time is not null
    union all
    select
        cast(null as varchar) as store_id,
        period_start,
        is_dispatch_on_time and is_transit_on_time as is_on_time
    from supplier_lines
    where is_transit_on_time is not null

),

eligible_facts as (

    select
        store_id,
        carrier,
        claim_period_start as period_start,
        has_claim
    from eligible
    union all
    select
        cast(null as varchar) as store_id,
        carrier,
        claim_period_start as period_start,
        has_claim
    from eligible

),

claim_facts as (

    select
        store_id,
        status,
        filed_period_start,
        paid_period_start,
        claimed_amount,
        paid_amount
    from claims
    union all
    select
        cast(null as varchar) as store_id,
        status,
        filed_period_start,
        paid_period_start,
        claimed_amount,
        paid_amount
    from claims

),

carrier_totals as (

    select
        store_id,
        period_start,
        {{ safe_ratio(
            "sum(case when is_on_time then 1 else 0 end)",
            "sum(case when is_on_time is not null then 1 else 0 end)"
        ) }} as carrier_on_time_rate,
        percentile_cont(0.5) within group (order by transit_days) as carrier_transit_days_p50

    from delivered
    group by store_id, period_start

),

by_carrier as (

    select
        store_id,
        period_start,
        carrier,
        sum(case when is_on_time is not null then 1 else 0 end) as on_time_known,
        {{ safe_ratio(
            "sum(case when is_on_time then 1 else 0 end)",
            "sum(case when is_on_time is not null then 1 else 0 end)"
        ) }} as carrier_on_time_rate,
        percentile_cont(0.5) within group (order by transit_days) as carrier_transit_days_p50

    from delivered
    group by store_id, period_start, carrier

),

within_48h as (

    select
        store_id,
        period_start,
        {{ safe_ratio(
            "sum(case when is_shipped_within_48h then 1 else 0 end)",
            "count(*)"
        ) }} as orders_within_48h_rate

    from order_facts
    group by store_id, period_start

),

supplier_sla as (

    select
        store_id,
        period_start,
        {{ safe_ratio("sum(case when is_on_time then 1 else 0 end)", "count(*)") }} as supplier_sla_hit_rate

    from supplier_facts
    group by store_id, period_start

),

eligible_totals as (

    select
        store_id,
        period_start,
        count(*) as eligible_claim_parcels,
        {{ safe_ratio("sum(case when has_claim then 1 else 0 end)", "count(*)") }} as claim_filing_rate

    from eligible_facts
    group by store_id, period_start

),

eligible_by_carrier as (

    select
        eligible_facts.store_id,
        eligible_facts.period_start,
        eligible_facts.carrier,
        count(*) as eligible_claim_parcels

    from eligible_facts
    inner join grid
        on
            coalesce(eligible_facts.store_id, '') = coalesce(grid.store_id, '')
            and eligible_facts.period_start = grid.period_start
    group by eligible_facts.store_id, eligible_facts.period_start, eligible_facts.carrier

),

recovery as (

    select
        store_id,
        filed_period_start as period_start,
        {{ safe_ratio('sum(coalesce(paid_amount, 0))', 'sum(claimed_amount)') }} as claim_recovery_rate

    from claim_facts
    where status in ('paid', 'rejected')
    group by store_id, filed_period_start

),

compensation as (

    select
        store_id,
        paid_period_start as period_start,
        sum(paid_amount) as compensation_recovered

    from claim_facts
    where status = 'paid'
    group by store_id, paid_period_start

),

monthly as (

    select
        grid.store_id,
        grid.period_start,
        within_48h.orders_within_48h_rate,
        supplier_sla.supplier_sla_hit_rate,
        carrier_totals.carrier_on_time_rate,
        carrier_totals.carrier_transit_days_p50,
        coalesce(eligible_totals.eligible_claim_parcels, 0) as eligible_claim_parcels,
        eligible_totals.claim_filing_rate,
        recovery.claim_recovery_rate,
        coalesce(compensation.compensation_recovered, 0) as compensation_recovered

    from grid
    left join within_48h
        on
            coalesce(grid.store_id, '') = coalesce(within_48h.store_id, '')
            and grid.period_start = within_48h.period_start
    left join supplier_sla
        on
            coalesce(grid.store_id, '') = coalesce(supplier_sla.store_id, '')
            and grid.period_start = supplier_sla.period_start
    left join eligible_totals
        on
            coalesce(grid.store_id, '') = coalesce(eligible_totals.store_id, '')
            and grid.period_start = eligible_totals.period_start
    left join carrier_totals
        on
            coalesce(grid.store_id, '') = coalesce(carrier_totals.store_id, '')
            and grid.period_start = carrier_totals.period_start
    left join recovery
        on
            coalesce(grid.store_id, '') = coalesce(recovery.store_id, '')
            and grid.period_start = recovery.period_start
    left join compensation
        on
            coalesce(grid.store_id, '') = coalesce(compensation.store_id, '')
            and grid.period_start = compensation.period_start

),

carrier_monthly as (

    select by_carrier.*
    from by_carrier
    inner join grid
        on
            coalesce(by_carrier.store_id, '') = coalesce(grid.store_id, '')
            and by_carrier.period_start = grid.period_start

),

asof_counts as (

    select
        stores.store_id,
        (
            select count(*)
            from orders
            where
                orders.store_id = stores.store_id
                and orders.is_open
                and orders.open_age_business_hours > 48
        ) as open_over_48h_count,
        (
            select count(*)
            from eligible
            where
                eligible.store_id = stores.store_id
                and eligible.is_unfiled_past_window
        ) as unfiled_past_window_count

    from stores

),

asof_levels as (

    select
        store_id,
        open_over_48h_count,
        unfiled_past_window_count
    from asof_counts
    union all
    select
        cast(null as varchar) as store_id,
        sum(open_over_48h_count) as open_over_48h_count,
        sum(unfiled_past_window_count) as unfiled_past_window_count
    from asof_counts

),

-- noqa: disable=LT02
-- (sqlfluff cannot follow indentation through the Jinja loops below)
long_format as (

    {%- set month_metrics = [
        'orders_within_48h_rate',
        'supplier_sla_hit_rate',
        'eligible_claim_parcels',
        'claim_filing_rate',
        'carrier_on_time_rate',
        'carrier_transit_days_p50',
        'claim_recovery_rate',
        'compensation_recovered',
    ] %}

    {%- for metric in month_metrics %}
    select
        '{{ metric }}' as metric,
        store_id,
        period_start,
        'month' as grain,
        cast(null as varchar) as dimension,
        cast(null as varchar) as dimension_value,
        cast({{ metric }} as double) as value
    from monthly
    union all
    {%- endfor %}
    select
        'carrier_transit_days_p50' as metric,
        store_id,
        period_start,
        'month' as grain,
        'carrier' as dimension,
        carrier as dimension_value,
        cast(carrier_transit_days_p50 as double) as value
    from carrier_monthly
    union all
    select
        'carrier_on_time_rate' as metric,
        store_id,
        period_start,
        'month' as grain,
        'carrier' as dimension,
        carrier as dimension_value,
        cast(carrier_on_time_rate as double) as value
    from carrier_monthly
    where on_time_known > 0
    union all
    select
        'eligible_claim_parcels' as metric,
        store_id,
        period_start,
        'month' as grain,
        'carrier' as dimension,
        carrier as dimension_value,
        cast(eligible_claim_parcels as double) as value
    from eligible_by_carrier
    {%- for metric in ['open_over_48h_count', 'unfiled_past_window_count'] %}
    union all
    select
        '{{ metric }}' as metric,
        store_id,
        cast({{ to_local(as_of_ts(), "'UTC'") }} as date) as period_start,
        'asof' as grain,
        cast(null as varchar) as dimension,
        cast(null as varchar) as dimension_value,
        cast({{ metric }} as double) as value
    from asof_levels
    {%- endfor %}

),
-- noqa: enable=LT02

final as (

    select
        metric,
        store_id,
        period_start,
        grain,
        dimension,
        dimension_value,
        value

    from long_format

)

select * from final
