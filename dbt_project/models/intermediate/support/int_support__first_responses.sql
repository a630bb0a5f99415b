-- One row per conversation: first public staff reply, first response time in calendar and support business
-- hours (support.md rules 3-4), and for unanswered ones the business-hours age at the clock (rule 5).
with

conversations as (

    select * from {{ ref('int_support__conversations') }}

),

replies as (

    select * from {{ ref('int_support__replies') }}

),

first_replies as (

    select
        conversation_slug,
        created_at as first_response_at,
        staff_id as first_responder_staff_id

    from replies
    where reply_number = 1

),

timed as (

    select
        conversations.conversation_slug,
        first_replies.first_response_at,
        first_replies.first_responder_staff_id,
        {{ dbt.datediff('conversations.created_at', 'first_replies.first_response_at', 'microsecond') }}
        / 3600000000.0 as first_response_hours,
        case
            when first_replies.first_response_at is not null
                then {{ support_business_hours(
                    'conversations.created_at', 'first_replies.first_response_at',
                    'conversations.support_timezone', 'conversations.support_start_hour',
                    'conversations.support_end_hour') }}
        end as first_response_business_hours,
        case
            when first_replies.first_response_at is null
                then {{ support_business_hours(
                    'conversations.created_at', as_of_ts(),
                    'conversations.support_timezone', 'conversations.support_start_hour',
                    'conversations.support_end_hour') }}
        end as unanswered_business_hours

    from conversations
    left join first_replies
        on conversations.conversation_slug = first_replies.conversation_slug

)

select * from timed
