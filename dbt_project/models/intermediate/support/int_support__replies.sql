-- One row per public staff reply at or before the clock (support.md metric rule 2): visibility 0, written by a
-- staff user, not automated (automated messages carry an origin_id). Author, order in the conversation and
-- whether the body matches one of the brand's response templates (rule 8).
with

messages as (

    select * from {{ ref('stg_reamaze__messages') }}
    where
        visibility = 0
        and user_is_staff
        and not is_automated
        and created_at <= {{ as_of_ts() }}

),

staff as (

    select * from {{ ref('stg_reamaze__staff') }}

),

patterns as (

    select * from {{ ref('int_support__template_patterns') }}

),

stripped as (

    select
        messages.message_id,
        messages.brand,
        messages.conversation_slug,
        messages.created_at,
        staff.staff_id,
        {{ strip_space("coalesce(messages.body, '')") }} as reply_body

    from messages
    left join staff
        on
            messages.brand = staff.brand
            and messages.user_email_hash = staff.staff_email_hash

),

matched as (

    select
        stripped.message_id,
        count(patterns.template_id) > 0 as uses_template

    from stripped
    left join patterns
        on
            stripped.brand = patterns.brand
            and {{ regex_full_match('stripped.reply_body', 'patterns.body_pattern') }}
    group by stripped.message_id

),

final as (

    select
        stripped.message_id,
        stripped.brand,
        stripped.conversation_slug,
        stripped.created_at,
        stripped.staff_id,
        row_number() over (
            partition by stripped.conversation_slug
            order by stripped.created_at, stripped.message_id
        ) as reply_number,
        matched.uses_template

    from stripped
    inner join matched
        on stripped.message_id = matched.message_id

)

select * from final
