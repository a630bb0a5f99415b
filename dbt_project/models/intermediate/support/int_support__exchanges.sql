-- One row per conversation: public staff replies up to its resolution (support.md rule 7) and template use.
-- The resolution is the conversation's last status change at or before the clock, and no public staff reply is
-- posted after a resolution, so the replies up to the resolution are all its replies up to the clock.
with

conversations as (

    select * from {{ ref('int_support__conversations') }}

),

replies as (

    select * from {{ ref('int_support__replies') }}

),

per_conversation as (

    select
        conversation_slug,
        count(*) as replies,
        sum(case when uses_template then 1 else 0 end) as template_replies

    from replies
    group by conversation_slug

),

final as (

    select
        conversations.conversation_slug,
        coalesce(per_conversation.replies, 0) as exchanges,
        coalesce(per_conversation.template_replies, 0) as template_replies,
        coalesce(per_conversation.template_replies, 0) > 0 as uses_template

    from conversations
    left join per_conversation
        on conversations.conversation_slug = per_conversation.conversation_slug

)

select * from final
