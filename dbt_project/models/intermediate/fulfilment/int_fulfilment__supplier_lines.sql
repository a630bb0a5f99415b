-- One row per order line fulfilled from a drop-shipping supplier's location (its earliest such fulfillment
-- whose parcel is tracked at the as-of time): dispatch on time (within the supplier's SLA in business days of
-- the order's clock start) and transit on time (pickup to delivery within the supplier × market SLA; null while
-- unknown), METRICS.md §7.
with

fulfillments as (

    select * from {{ ref('stg_shopify__fulfillments') }}

),

fulfillment_lines as (

    select * from {{ ref('stg_shopify__fulfillment_lines') }}

),

locations as (

    select * from {{ ref('stg_shopify__locations') }}

),

suppliers as (

    select * from {{ ref('stg_sheets__suppliers') }}

),

transit_slas as (

    select * from {{ ref('stg_sheets__supplier_transit_sla') }}

),

orders as (

    select * from {{ ref('int_fulfilment__order_sla') }}

),

parcels as (

    select * from {{ ref('int_fulfilment__parcels') }}

),

calendar as (

    select * from {{ ref('int_fulfilment__business_calendar') }}

),

-- a location is a supplier's when it carries the supplier's name (Shopify has no supplier id on it)
supplier_locations as (

    select distinct
        locations.location_id,
        suppliers.supplier_id,
        suppliers.dispatch_sla_business_days

    from locations
    inner join suppliers
        on locations.location_name = suppliers.supplier_name

),

supplier_fulfilled as (

    select
        fulfillment_lines.order_line_id,
        fulfillments.fulfillment_id,
        fulfillments.order_id,
        fulfillments.created_at as fulfilled_at,
        supplier_locations.supplier_id,
        supplier_locations.dispatch_sla_business_days,
        parcels.tracking_id,
        parcels.market,
        parcels.pickup_date,
        parcels.delivery_date,
        parcels.as_of_date,
        row_number() over (
            partition by fulfillment_lines.order_line_id
            order by fulfillments.created_at, fulfillments.fulfillment_id
        ) as fulfillment_rank

    from fulfillment_lines
    inner join fulfillments
        on fulfillment_lines.fulfillment_id = fulfillments.fulfillment_id
    inner join supplier_locations
        on fulfillments.location_id = supplier_locations.location_id
    inner join parcels
        on fulfillments.tracking_number = parcels.tracking_number
    where fulfillments.created_at <= {{ as_of_ts() }}

),

timed as (

    select
        supplier_fulfilled.*,
        orders.store_id,
        orders.period_start,
        orders.clock_start_local,
        {{ to_local('supplier_fulfilled.fulfilled_at', 'stores.timezone') }} as fulfilled_local,
        {{ business_position('orders.clock_start_local', 'start_day') }} as start_position,
        24 * supplier_fulfilled.dispatch_sla_business_days as sla_hours,
        transit_slas.transit_sla_days

    from supplier_fulfilled
    inner join orders
        on supplier_fulfilled.order_id = orders.order_id
    inner join {{ ref('stg_sheets__stores') }} as stores
        on orders.store_id = stores.store_id
    inner join calendar as start_day
        on
            orders.store_id = start_day.store_id
            and cast(orders.clock_start_local as date) = start_day.calendar_date
    left join transit_slas
        on
            supplier_fulfilled.supplier_id = transit_slas.supplier_id
            and supplier_fulfilled.market = transit_slas.market
    where supplier_fulfilled.fulfillment_rank = 1

),

deadlines as (

    select
        timed.*,
        {{ deadline_at('timed.start_position', 'timed.sla_hours', 'deadline_day') }} as dispatch_deadline_local

    from timed
    inner join calendar as deadline_day
        on
            timed.store_id = deadline_day.store_id
            and deadline_day.is_business_day
            and deadline_day.business_days_before = {{ deadline_day_index('timed.start_position', 'timed.sla_hours') }}

),

final as (

    select
        order_line_id,
        order_id,
        store_id,
        supplier_id,
        market,
        fulfillment_id,
        tracking_id,
        period_start,
        clock_start_local,
        dispatch_deadline_local,
        fulfilled_local,
        pickup_date,
        delivery_date,
        transit_sla_days,
        fulfilled_local <= dispatch_deadline_local as is_dispatch_on_time,
        case
            when delivery_date is not null and pickup_date is not null
                then {{ dbt.datediff('pickup_date', 'delivery_date', 'day') }} <= transit_sla_days  -- noqa: LT05
            when
                pickup_date is not null
                and as_of_date > cast({{ dbt.dateadd('day', 'transit_sla_days', 'pickup_date') }} as date)
                then false
        end as is_transit_on_time

    from deadlines

)

select * from final
