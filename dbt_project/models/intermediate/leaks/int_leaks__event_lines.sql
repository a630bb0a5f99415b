-- One row per leak event × SKU line: the event's cost split by line value (METRICS.md §4, leaks.md "§4"):
-- refund line subtotals (refunds), replacement line quantities (replacement orders), the order's line net values
-- (store credit, chargebacks, and events without lines), with supplier, market, carrier (tracking company of the
-- order's first fulfilment) and agent.
with

events as (

    select * from {{ ref('int_leaks__events') }}

),

refund_lines as (

    select * from {{ ref('stg_shopify__refund_lines') }}

),

order_lines as (

    select * from {{ ref('stg_shopify__order_lines') }}

),

catalog as (

    select * from {{ ref('stg_sheets__sku_catalog') }}

),

fulfillments as (

    select * from {{ ref('stg_shopify__fulfillments') }}
    where created_at <= {{ as_of_ts() }}

),

first_fulfillments as (

    select
        order_id,
        tracking_company,
        row_number() over (partition by order_id order by created_at, fulfillment_id) as fulfillment_rank

    from fulfillments

),

own_lines as (

    select
        events.leak_event_id,
        order_lines.sku,
        cast(refund_lines.subtotal_amount as double) as weight

    from events
    inner join refund_lines
        on events.source_id = refund_lines.refund_id
    inner join order_lines
        on refund_lines.order_line_id = order_lines.order_line_id
    where events.event_type = 'refund'
    union all
    select
        events.leak_event_id,
        order_lines.sku,
        cast(order_lines.quantity as double) as weight

    from events
    inner join order_lines
        on events.source_id = order_lines.order_id
    where events.event_type = 'replacement'

),

order_value_lines as (

    select
        events.leak_event_id,
        order_lines.sku,
        cast(order_lines.unit_price * order_lines.quantity - order_lines.discount_amount as double) as weight

    from events
    inner join order_lines
        on events.order_id = order_lines.order_id
    where events.leak_event_id not in (select own_lines.leak_event_id from own_lines)

),

weighted as (

    select * from own_lines
    union all
    select * from order_value_lines

),

shares as (

    select
        leak_event_id,
        sku,
        case
            when sum(weight) over (partition by leak_event_id) > 0
                then weight / sum(weight) over (partition by leak_event_id)
            else 1.0
        end as share  -- noqa: RF04

    from weighted

),

final as (

    select
        shares.leak_event_id,
        shares.sku,
        coalesce(nullif(catalog.supplier_id, ''), 'unmapped') as supplier,
        events.store_id,
        events.market,
        coalesce(first_fulfillments.tracking_company, 'unshipped') as carrier,
        coalesce(first_fulfillments.tracking_company, 'unshipped') || '/' || events.market as carrier_market,
        events.cause,
        coalesce(events.staff, 'none') as agent,
        events.is_preventable,
        events.local_date,
        events.period_start,
        shares.share,
        cast(events.leak_cost as double) * shares.share as leak_cost

    from shares
    inner join events
        on shares.leak_event_id = events.leak_event_id
    left join catalog
        on shares.sku = catalog.sku
    left join first_fulfillments
        on
            events.order_id = first_fulfillments.order_id
            and first_fulfillments.fulfillment_rank = 1

)

select * from final
