-- One row per label of the label provider's export, classified: `fulfilment` (outbound label whose tracking number
-- is a Shopify fulfilment's: the order's own shipment), `replacement` (any other outbound label: a replacement
-- order's), `return` (merchant-paid return label of the order named). Cost in the label's currency: consumers
-- convert at their own date (profit at the paid date, leak events at the event date).
with

labels as (

    select * from {{ ref('stg_sheets__shipping_labels') }}

),

fulfillments as (

    select * from {{ ref('stg_shopify__fulfillments') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

shipped as (

    select distinct
        store_id,
        tracking_number,
        order_id

    from fulfillments
    where tracking_number is not null

),

final as (

    select
        labels.label_id,
        labels.store_id,
        labels.order_name,
        coalesce(shipped.order_id, orders.order_id) as order_id,
        labels.direction,
        case
            when labels.direction = 'return' then 'return'
            when shipped.order_id is not null then 'fulfilment'
            else 'replacement'
        end as label_kind,
        labels.shipment_date,
        labels.carrier,
        labels.service,
        labels.tracking_number,
        labels.return_name,
        labels.label_cost_amount,
        labels.currency

    from labels
    left join shipped
        on
            labels.direction = 'outbound'
            and labels.store_id = shipped.store_id
            and labels.tracking_number = shipped.tracking_number
    left join orders
        on
            labels.store_id = orders.store_id
            and labels.order_name = orders.order_name

)

select * from final
