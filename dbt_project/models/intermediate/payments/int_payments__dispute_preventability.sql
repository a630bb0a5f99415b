-- One row per dispute: is it preventable (METRICS.md §6, "any one" of four conditions) and why.
--   1. reason credit_not_processed (the refund never reached the customer);
--   2. reason product_not_received and the order missed the 48 h SLA (decided at the clock and not shipped in
--      time), or no fulfillment of it carries a tracking number, or none of its parcels was delivered by the clock;
--   3. a Re:amaze conversation about the order waited more than 48 business hours (METRICS.md §0: the store's
--      business days, whole local days) for its first public staff reply, and that wait was over before the
--      dispute was created;
--   4. reason product_unacceptable and an issue ticket about the order (a refund request, §9) was created before
--      the dispute.
-- preventable_because names the first condition that holds, in the order above.
with

disputes as (

    select * from {{ ref('int_payments__disputes_costed') }}

),

order_sla as (

    select * from {{ ref('int_fulfilment__order_sla') }}

),

fulfillments as (

    select * from {{ ref('stg_shopify__fulfillments') }}

),

parcels as (

    select * from {{ ref('int_fulfilment__parcels') }}

),

conversations as (

    select * from {{ ref('int_support__conversations') }}

),

first_responses as (

    select * from {{ ref('int_support__first_responses') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

calendar as (

    select * from {{ ref('int_fulfilment__business_calendar') }}

),

tracked_orders as (

    select distinct order_id
    from fulfillments
    where
        tracking_number is not null
        and trim(tracking_number) != ''
        and created_at <= {{ as_of_ts() }}

),

delivered_orders as (

    select distinct order_id
    from parcels
    where delivered_at <= {{ as_of_ts() }}

),

-- conversations about an order, with the local instant 48 business hours after they were created
conversation_starts as (

    select
        conversations.conversation_slug,
        conversations.order_id,
        conversations.store_id,
        conversations.created_at,
        conversations.is_issue_ticket,
        first_responses.first_response_at,
        stores.timezone,
        {{ business_position(to_local('conversations.created_at', 'stores.timezone'), 'created_day') }}
            as created_position

    from conversations
    inner join stores
        on conversations.store_id = stores.store_id
    inner join calendar as created_day
        on
            conversations.store_id = created_day.store_id
            and cast({{ to_local('conversations.created_at', 'stores.timezone') }} as date)
            = created_day.calendar_date
    left join first_responses
        on conversations.conversation_slug = first_responses.conversation_slug
    where conversations.order_id is not null

),

conversation_deadlines as (

    select
        conversation_starts.*,
        {{ deadline_at('conversation_starts.created_position', 48, 'due_day') }} as first_reply_due_local

    from conversation_starts
    inner join calendar as due_day
        on
            conversation_starts.store_id = due_day.store_id
            and due_day.is_business_day
            and due_day.business_days_before = {{ deadline_day_index('conversation_starts.created_position', 48) }}

),

support_conditions as (

    select
        disputes.dispute_id,
        max(
            case
                when
                    {{ to_local('disputes.created_at', 'conversation_deadlines.timezone') }}
                    > conversation_deadlines.first_reply_due_local
                    and (
                        conversation_deadlines.first_response_at is null
                        or {{ to_local('conversation_deadlines.first_response_at', 'conversation_deadlines.timezone') }}
                        > conversation_deadlines.first_reply_due_local
                    )
                    then 1
                else 0
            end
        ) as waited_for_first_reply,
        max(
            case
                when
                    disputes.reason = 'product_unacceptable'
                    and conversation_deadlines.is_issue_ticket
                    and conversation_deadlines.created_at < disputes.created_at
                    then 1
                else 0
            end
        ) as refund_requested_before

    from disputes
    inner join conversation_deadlines
        on disputes.order_id = conversation_deadlines.order_id
    group by disputes.dispute_id

),

conditions as (

    select
        disputes.dispute_id,
        disputes.reason = 'credit_not_processed' as is_credit_not_processed,
        disputes.reason = 'product_not_received'
        and coalesce(order_sla.is_sla_decided and not order_sla.is_shipped_within_48h, false) as is_missed_sla,
        disputes.reason = 'product_not_received'
        and disputes.order_id is not null
        and tracked_orders.order_id is null as is_untracked,
        disputes.reason = 'product_not_received'
        and disputes.order_id is not null
        and delivered_orders.order_id is null as is_undelivered,
        coalesce(support_conditions.waited_for_first_reply = 1, false) as is_slow_first_reply,
        coalesce(support_conditions.refund_requested_before = 1, false) as is_unacceptable_after_request

    from disputes
    left join order_sla
        on disputes.order_id = order_sla.order_id
    left join tracked_orders
        on disputes.order_id = tracked_orders.order_id
    left join delivered_orders
        on disputes.order_id = delivered_orders.order_id
    left join support_conditions
        on disputes.dispute_id = support_conditions.dispute_id

),

final as (

    select
        dispute_id,
        is_credit_not_processed
        or is_missed_sla
        or is_untracked
        or is_undelivered
        or is_slow_first_reply
        or is_unacceptable_after_request as is_preventable,
        case
            when is_credit_not_processed then 'refund_not_processed'
            when is_missed_sla then 'missed_48h_sla'
            when is_untracked then 'no_tracking'
            when is_undelivered then 'never_delivered'
            when is_slow_first_reply then 'slow_first_reply'
            when is_unacceptable_after_request then 'unacceptable_after_refund_request'
        end as preventable_because

    from conditions

)

select * from final
