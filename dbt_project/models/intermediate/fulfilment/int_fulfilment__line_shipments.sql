-- One row per order line in at least one successful fulfillment created by the as-of time: when it was first
-- fulfilled and when its cumulative fulfilled quantity reached the ordered quantity (METRICS.md §7).
with

fulfillments as (

    select * from {{ ref('stg_shopify__fulfillments') }}

),

fulfillment_lines as (

    select * from {{ ref('stg_shopify__fulfillment_lines') }}

),

order_lines as (

    select * from {{ ref('stg_shopify__order_lines') }}

),

shipped_units as (

    select
        fulfillment_lines.order_line_id,
        fulfillments.created_at,
        order_lines.quantity as ordered_quantity,
        sum(fulfillment_lines.quantity) over (
            partition by fulfillment_lines.order_line_id
            order by fulfillments.created_at, fulfillments.fulfillment_id
            rows between unbounded preceding and current row
        ) as cumulative_quantity

    from fulfillment_lines
    inner join fulfillments
        on fulfillment_lines.fulfillment_id = fulfillments.fulfillment_id
    inner join order_lines
        on fulfillment_lines.order_line_id = order_lines.order_line_id
    where
        fulfillments.status = 'SUCCESS'
        and fulfillments.created_at <= {{ as_of_ts() }}

),

final as (

    select
        order_line_id,
        min(created_at) as first_fulfilled_at,
        min(case when cumulative_quantity >= ordered_quantity then created_at end) as line_shipped_at

    from shipped_units
    group by order_line_id

)

select * from final
