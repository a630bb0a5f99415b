-- Support quality per brand, store, local month and agent (METRICS.md §9 "per agent"): public replies and
-- template use (by reply author), first responses (by first responder), resolutions (by assignee).
with

tickets as (

    select * from {{ ref('support_tickets') }}

),

replies as (

    select * from {{ ref('int_support__replies') }}

),

staff as (

    select * from {{ ref('stg_reamaze__staff') }}

),

reply_figures as (

    select
        tickets.store_id,
        tickets.period_start,
        replies.staff_id,
        count(*) as replies,
        sum(case when tickets.is_template_required then 1 else 0 end) as template_required_replies,
        sum(case when tickets.is_template_required and replies.uses_template then 1 else 0 end)
            as template_replies

    from replies
    inner join tickets
        on replies.conversation_slug = tickets.conversation_slug
    where replies.staff_id is not null
    group by tickets.store_id, tickets.period_start, replies.staff_id

),

first_response_figures as (

    select
        store_id,
        period_start,
        first_responder_staff_id as staff_id,
        count(*) as first_responses,
        percentile_cont(0.5) within group (order by first_response_hours) as frt_hours_p50,
        percentile_cont(0.9) within group (order by first_response_hours) as frt_hours_p90,
        percentile_cont(0.5) within group (order by first_response_business_hours) as frt_business_hours_p50,
        percentile_cont(0.9) within group (order by first_response_business_hours) as frt_business_hours_p90,
        sum(case when is_within_frt_target then 1 else 0 end) as first_responses_within_target

    from tickets
    where is_frt_population and first_responder_staff_id is not null
    group by store_id, period_start, first_responder_staff_id

),

resolution_figures as (

    select
        store_id,
        period_start,
        assignee_staff_id as staff_id,
        count(*) as resolved_issue_tickets,
        sum(case when is_resolved_within_3_exchanges then 1 else 0 end) as resolved_within_3_exchanges

    from tickets
    where is_issue_ticket and is_resolved and assignee_staff_id is not null
    group by store_id, period_start, assignee_staff_id

),

agent_months as (

    select
        store_id,
        period_start,
        staff_id
    from reply_figures
    union
    select
        store_id,
        period_start,
        staff_id
    from first_response_figures
    union
    select
        store_id,
        period_start,
        staff_id
    from resolution_figures

),

final as (

    select
        staff.brand,
        agent_months.store_id,
        agent_months.period_start,
        cast(agent_months.staff_id as bigint) as staff_id,
        staff.staff_name,
        cast(coalesce(reply_figures.replies, 0) as bigint) as replies,
        cast(coalesce(first_response_figures.first_responses, 0) as bigint) as first_responses,
        cast(first_response_figures.frt_hours_p50 as double) as frt_hours_p50,
        cast(first_response_figures.frt_hours_p90 as double) as frt_hours_p90,
        cast(first_response_figures.frt_business_hours_p50 as double) as frt_business_hours_p50,
        cast(first_response_figures.frt_business_hours_p90 as double) as frt_business_hours_p90,
        cast(coalesce(first_response_figures.first_responses_within_target, 0) as bigint)
            as first_responses_within_target,
        {{ safe_ratio('first_response_figures.first_responses_within_target',
                      'first_response_figures.first_responses') }} as frt_within_target_rate,
        cast(coalesce(resolution_figures.resolved_issue_tickets, 0) as bigint) as resolved_issue_tickets,
        {{ safe_ratio('resolution_figures.resolved_within_3_exchanges',
                      'resolution_figures.resolved_issue_tickets') }} as resolved_within_3_exchanges_rate,
        cast(coalesce(reply_figures.template_required_replies, 0) as bigint) as template_required_replies,
        cast(coalesce(reply_figures.template_replies, 0) as bigint) as template_replies,
        {{ safe_ratio('reply_figures.template_replies', 'reply_figures.template_required_replies') }}
            as template_usage_rate,
        {{ as_of_ts() }} as as_of

    from agent_months
    left join staff
        on agent_months.staff_id = staff.staff_id
    left join reply_figures
        on
            agent_months.store_id = reply_figures.store_id
            and agent_months.period_start = reply_figures.period_start
            and agent_months.staff_id = reply_figures.staff_id
    left join first_response_figures
        on
            agent_months.store_id = first_response_figures.store_id
            and agent_months.period_start = first_response_figures.period_start
            and agent_months.staff_id = first_response_figures.staff_id
    left join resolution_figures
        on
            agent_months.store_id = resolution_figures.store_id
            and agent_months.period_start = resolution_figures.period_start
            and agent_months.staff_id = resolution_figures.staff_id

)

select * from final
