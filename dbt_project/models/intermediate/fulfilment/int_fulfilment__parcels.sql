-- One row per parcel (AfterShip tracking at the as-of time): store, market, carrier service, local pickup /
-- delivery dates, transit days and on-time (METRICS.md §7), last scan and the claim rules read off the
-- tracking itself (§8; the refund-damage rule joins fulfillments in int_fulfilment__claim_eligibility).
with

trackings as (

    select * from {{ ref('stg_aftership__trackings') }}

),

checkpoints as (

    select * from {{ ref('stg_aftership__checkpoints') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

carriers as (

    select * from {{ ref('stg_sheets__carriers') }}

),

last_scans as (

    select
        tracking_id,
        max(checkpoint_at) as last_checkpoint_at

    from checkpoints
    where checkpoint_at <= {{ as_of_ts() }}
    group by tracking_id

),

claim_windows as (

    select
        carrier,
        market,
        max(claim_window_days) as claim_window_days

    from carriers
    group by carrier, market

),

localised as (

    select
        trackings.tracking_id,
        trackings.tracking_number,
        trackings.carrier,
        trackings.service,
        trackings.order_id,
        trackings.location_id,
        orders.store_id,
        stores.market,
        stores.timezone,
        trackings.tag,
        trackings.subtag,
        trackings.created_at,
        trackings.picked_up_at,
        trackings.delivered_at,
        trackings.first_estimated_delivery_date,
        last_scans.last_checkpoint_at,
        cast({{ to_local('trackings.created_at', 'stores.timezone') }} as date) as created_date,
        cast({{ to_local('trackings.picked_up_at', 'stores.timezone') }} as date) as pickup_date,
        cast({{ to_local('trackings.delivered_at', 'stores.timezone') }} as date) as delivery_date,
        cast({{ to_local(as_of_ts(), 'stores.timezone') }} as date) as as_of_date,
        carriers.transit_sla_days,
        coalesce(carriers.is_guaranteed, false) as is_guaranteed,
        claim_windows.claim_window_days

    from trackings
    inner join orders
        on trackings.order_id = orders.order_id
    inner join stores
        on orders.store_id = stores.store_id
    left join carriers
        on
            trackings.carrier = carriers.carrier
            and stores.market = carriers.market
            and trackings.service = carriers.service
    left join claim_windows
        on
            trackings.carrier = claim_windows.carrier
            and stores.market = claim_windows.market
    left join last_scans
        on trackings.tracking_id = last_scans.tracking_id

),

measured as (

    select
        *,
        case
            when pickup_date is not null and delivery_date is not null
                then {{ dbt.datediff('pickup_date', 'delivery_date', 'day') }}
        end as transit_days,
        coalesce(
            first_estimated_delivery_date,
            case
                when pickup_date is not null and transit_sla_days is not null
                    then cast({{ dbt.dateadd('day', 'transit_sla_days', 'pickup_date') }} as date)
            end
        ) as promised_date

    from localised

),

classified as (

    select
        *,
        case
            when delivery_date is not null and pickup_date is not null and promised_date is not null
                then delivery_date <= promised_date
        end as is_on_time,
        case
            when tag = 'Exception' and subtag = 'Exception_013' then 'lost'
            when tag = 'Exception' and subtag = 'Exception_012' then 'damaged'
            when tag = 'Expired' then 'lost'
            when
                picked_up_at is not null
                and delivered_at is null
                and tag not in ('Delivered', 'Exception')
                and last_checkpoint_at is not null
                and {{ dbt.datediff('last_checkpoint_at', as_of_ts(), 'second') }} >= 10 * 24 * 3600  -- noqa: LT05
                then 'lost'
        end as scan_claim_type,
        coalesce(
            is_guaranteed
            and pickup_date is not null
            and delivery_date is not null
            and {{ dbt.datediff('pickup_date', 'delivery_date', 'day') }} > transit_sla_days,  -- noqa: LT05
            false
        ) as is_late_guaranteed,
        coalesce(pickup_date, created_date) as claim_base_date

    from measured

),

final as (

    select
        tracking_id,
        tracking_number,
        carrier,
        service,
        order_id,
        location_id,
        store_id,
        market,
        tag,
        subtag,
        created_at,
        picked_up_at,
        delivered_at,
        last_checkpoint_at,
        created_date,
        pickup_date,
        delivery_date,
        first_estimated_delivery_date,
        transit_sla_days,
        is_guaranteed,
        transit_days,
        promised_date,
        is_on_time,
        cast({{ dbt.date_trunc('month', 'delivery_date') }} as date) as delivery_period_start,
        scan_claim_type,
        is_late_guaranteed,
        claim_base_date,
        cast({{ dbt.date_trunc('month', 'claim_base_date') }} as date) as claim_period_start,
        claim_window_days,
        as_of_date

    from classified

)

select * from final
