-- One row per Re:amaze conversation created at or before the clock (METRICS.md §9): store, order, first
-- response in calendar and support business hours, target, exchanges up to resolution, template use.
with

conversations as (

    select * from {{ ref('int_support__conversations') }}

),

first_responses as (

    select * from {{ ref('int_support__first_responses') }}

),

exchanges as (

    select * from {{ ref('int_support__exchanges') }}

),

final as (

    select
        conversations.conversation_slug,
        conversations.brand,
        conversations.store_id,
        conversations.order_id,
        conversations.period_start,
        conversations.created_at,
        cast(conversations.status as integer) as status,
        conversations.category,
        conversations.channel,
        cast(conversations.assignee_staff_id as bigint) as assignee_staff_id,
        conversations.is_spam,
        conversations.is_issue_ticket,
        conversations.is_resolved,
        conversations.is_frt_population,
        conversations.is_template_required,
        first_responses.first_response_at,
        cast(first_responses.first_responder_staff_id as bigint) as first_responder_staff_id,
        cast(first_responses.first_response_hours as double) as first_response_hours,
        cast(first_responses.first_response_business_hours as double) as first_response_business_hours,
        cast(first_responses.unanswered_business_hours as double) as unanswered_business_hours,
        cast(conversations.frt_target_hours as double) as frt_target_hours,
        conversations.is_frt_population
        and (
            first_responses.first_response_at is not null
            or first_responses.unanswered_business_hours > conversations.frt_target_hours
        ) as counts_for_frt_target,
        conversations.is_frt_population
        and first_responses.first_response_business_hours <= conversations.frt_target_hours
            as is_within_frt_target,
        cast(exchanges.exchanges as bigint) as exchanges,
        case
            when conversations.is_issue_ticket and conversations.is_resolved
                then exchanges.exchanges <= 3
        end as is_resolved_within_3_exchanges,
        cast(exchanges.template_replies as bigint) as template_replies,
        exchanges.uses_template,
        {{ as_of_ts() }} as as_of

    from conversations
    inner join first_responses
        on conversations.conversation_slug = first_responses.conversation_slug
    inner join exchanges
        on conversations.conversation_slug = exchanges.conversation_slug

)

select * from final
