-- One row per Shopify return at the run's as-of time, with its returned line, reason and the event that closed
-- it. Shopify's Admin API does not link a return to the refund or exchange order that closed it, so the link is
-- the order's refund or `exchange` replacement order created last at or before the return's closedAt (Shopify
-- closes a return once its refund / exchange is processed).
with

returns as (

    select * from {{ ref('stg_shopify__returns') }}
    where requested_at <= {{ as_of_ts() }}

),

return_lines as (

    select * from {{ ref('stg_shopify__return_lines') }}

),

order_lines as (

    select * from {{ ref('stg_shopify__order_lines') }}

),

refunds as (

    select * from {{ ref('stg_shopify__refunds') }}
    where created_at <= {{ as_of_ts() }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

-- the events that can close a return: the order's refunds and its exchange orders
closers as (

    select
        order_id,
        refund_id as closer_id,
        'refund' as outcome,
        created_at
    from refunds
    union all
    select
        originals.order_id,
        exchanges.order_id as closer_id,
        'exchange' as outcome,
        exchanges.created_at
    from orders as exchanges
    inner join orders as originals
        on
            exchanges.store_id = originals.store_id
            and exchanges.replacement_for_order_name = originals.order_name
    where
        exchanges.tags like '%exchange%'
        and exchanges.created_at <= {{ as_of_ts() }}

),

closed_by as (

    select
        returns.return_id,
        closers.closer_id,
        closers.outcome,
        row_number() over (
            partition by returns.return_id
            order by closers.created_at desc, closers.closer_id desc
        ) as closer_rank

    from returns
    inner join closers
        on
            returns.order_id = closers.order_id
            and returns.closed_at >= closers.created_at
    where returns.closed_at <= {{ as_of_ts() }}

),

first_lines as (

    select
        return_lines.return_id,
        return_lines.order_line_id,
        order_lines.sku,
        return_lines.quantity,
        return_lines.return_reason,
        row_number() over (
            partition by return_lines.return_id
            order by return_lines.return_line_id
        ) as line_rank

    from return_lines
    left join order_lines
        on return_lines.order_line_id = order_lines.order_line_id

),

final as (

    select
        returns.return_id,
        returns.return_name,
        returns.order_id,
        returns.store_id,
        first_lines.order_line_id,
        first_lines.sku,
        first_lines.quantity,
        first_lines.return_reason,
        returns.requested_at,
        returns.approved_at,
        cast({{ to_local('returns.approved_at', 'stores.timezone') }} as date) as approved_local_date,
        case when returns.received_at <= {{ as_of_ts() }} then returns.received_at end as received_at,
        case when returns.closed_at <= {{ as_of_ts() }} then returns.closed_at end as closed_at,
        closed_by.outcome,
        case when closed_by.outcome = 'refund' then closed_by.closer_id end as refund_id,
        case when closed_by.outcome = 'exchange' then closed_by.closer_id end as exchange_order_id,
        cast({{ to_local('returns.closed_at', 'stores.timezone') }} as date) as closed_local_date

    from returns
    inner join stores
        on returns.store_id = stores.store_id
    left join first_lines
        on
            returns.return_id = first_lines.return_id
            and first_lines.line_rank = 1
    left join closed_by
        on
            returns.return_id = closed_by.return_id
            and closed_by.closer_rank = 1

)

select * from final
