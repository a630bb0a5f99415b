-- One row per leak event of every kind at the run's as-of time (METRICS.md §3, §5, rules in sandbox/world/leaks.md):
-- the events of int_leaks__event_sources with cause + cause_source (tagged: note token > order tag of a single
-- refund > Re:amaze `cause-` conversation tag; inferred: return reason > tracking exception > cancelReason),
-- preventability, the merchant-paid return label of the event's return, the order's recoveries (all on its
-- earliest event), leak cost, and the decision-matrix / approval fields (value band, first choice, escalation,
-- compliance, cash before credit, over limit unapproved).
with

sources as (

    select * from {{ ref('int_leaks__event_sources') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

causes as (

    select * from {{ ref('stg_sheets__refund_causes') }}
    where cause != 'unknown'

),

trackings as (

    select * from {{ ref('stg_aftership__trackings') }}
    where created_at <= {{ as_of_ts() }}

),

conversations as (

    select * from {{ ref('stg_reamaze__conversations') }}
    where created_at <= {{ as_of_ts() }}

),

conversation_orders as (

    select * from {{ ref('int_support__conversations') }}

),

returns as (

    select * from {{ ref('int_leaks__returns') }}

),

labels as (

    select * from {{ ref('int_leaks__labels') }}

),

recoveries as (

    select * from {{ ref('int_leaks__recoveries') }}

),

fx as (

    select * from {{ ref('int_fx__daily_rates') }}

),

profit as (

    select * from {{ ref('int_orders__profit') }}

),

matrix as (

    select * from {{ ref('stg_sheets__refund_decision_matrix') }}

),

limits as (

    select * from {{ ref('stg_sheets__approval_limits') }}

),

internal_notes as (

    select * from {{ ref('stg_reamaze__messages') }}
    where
        visibility = 1
        and created_at <= {{ as_of_ts() }}

),

-- the order's earliest conversation (created, slug) tagged `cause-<code>` with a known code
conversation_causes as (

    select
        conversation_orders.order_id,
        causes.cause,
        row_number() over (
            partition by conversation_orders.order_id
            order by conversations.created_at, conversations.conversation_slug
        ) as conversation_rank

    from conversations
    inner join conversation_orders
        on conversations.conversation_slug = conversation_orders.conversation_slug
    inner join causes
        on {{ regex_group('conversations.tag_list', ',cause-([a-z0-9_]+),') }} = causes.cause
    where conversation_orders.order_id is not null

),

-- a tracking of the order in Exception_013 / Expired (lost) or Exception_012 (damaged); lost wins
tracking_causes as (

    select
        order_id,
        case
            when max(case when subtag = 'Exception_013' or tag = 'Expired' then 1 else 0 end) = 1
                then 'lost_in_transit'
            when max(case when subtag = 'Exception_012' then 1 else 0 end) = 1
                then 'damaged_in_transit'
        end as cause

    from trackings
    group by order_id

),

cause_inputs as (

    select
        sources.*,
        note_causes.cause as note_cause_valid,
        tag_causes.cause as tag_cause_valid,
        conversation_causes.cause as conversation_cause,
        coalesce(return_causes.cause, tracking_known.cause, cancel_causes.cause) as inferred_cause

    from sources
    left join orders
        on sources.order_id = orders.order_id
    left join causes as note_causes
        on sources.note_cause = note_causes.cause
    left join causes as tag_causes
        on sources.tag_cause = tag_causes.cause
    left join conversation_causes
        on
            sources.order_id = conversation_causes.order_id
            and conversation_causes.conversation_rank = 1
    left join causes as return_causes
        on
            return_causes.cause = case sources.return_reason
                when 'DEFECTIVE' then 'supplier_defect'
                when 'WRONG_ITEM' then 'wrong_item'
                when 'NOT_AS_DESCRIBED' then 'not_as_described'
                when 'SIZE_TOO_LARGE' then 'size_fit'
                when 'SIZE_TOO_SMALL' then 'size_fit'
                when 'UNWANTED' then 'changed_mind'
                when 'STYLE' then 'changed_mind'
                when 'COLOR' then 'changed_mind'
            end
    left join tracking_causes
        on sources.order_id = tracking_causes.order_id
    left join causes as tracking_known
        on tracking_causes.cause = tracking_known.cause
    left join causes as cancel_causes
        on
            cancel_causes.cause = case orders.cancel_reason
                when 'INVENTORY' then 'out_of_stock'
                when 'FRAUD' then 'fraud'
            end

),

caused as (

    select
        cause_inputs.*,
        coalesce(
            cause_inputs.fixed_cause,
            cause_inputs.note_cause_valid,
            cause_inputs.tag_cause_valid,
            cause_inputs.conversation_cause,
            cause_inputs.inferred_cause,
            'unknown'
        ) as cause,
        case
            when cause_inputs.fixed_cause is not null
                then case when cause_inputs.fixed_cause = 'unknown' then 'unknown' else 'inferred' end
            when
                coalesce(
                    cause_inputs.note_cause_valid, cause_inputs.tag_cause_valid, cause_inputs.conversation_cause
                ) is not null
                then 'tagged'
            when cause_inputs.inferred_cause is not null then 'inferred'
            else 'unknown'
        end as cause_source

    from cause_inputs

),

-- costs outside the event itself ----------------------------------------------------------------------------------

-- a return label belongs to the return it names; a label naming none (an export without the reference) belongs to
-- the order's return approved last on or before its shipment date (the label is bought when the return is
-- approved); when an
-- order has several return labels on one day, the k-th latest of them (label id = purchase order) takes the k-th
-- latest return approved on or before that day, so two returns approved the same day get one label each
label_candidates as (

    select
        labels.label_id,
        labels.label_cost_amount,
        labels.currency,
        returns.return_id,
        row_number() over (
            partition by labels.label_id
            order by returns.approved_at desc, returns.return_id desc
        ) as return_rank,
        count(*) over (partition by labels.label_id) as candidate_count,
        dense_rank() over (
            partition by labels.order_id, labels.shipment_date
            order by labels.label_id desc
        ) as label_rank

    from labels
    inner join returns
        on
            labels.order_id = returns.order_id
            and (
                labels.return_name = returns.return_name
                or (labels.return_name is null and labels.shipment_date >= returns.approved_local_date)
            )
    where labels.direction = 'return'

),

label_returns as (

    select
        label_id,
        label_cost_amount,
        currency,
        return_id

    from label_candidates
    where return_rank = least(label_rank, candidate_count)

),

-- the merchant-paid return label of the event's return, converted at the event's local date
return_labels as (

    select
        caused.leak_event_id,
        sum({{ to_cents('label_returns.label_cost_amount * fx.rate_to_reporting') }}) as return_label_cost

    from caused
    inner join label_returns
        on
            caused.return_id = label_returns.return_id
    left join fx
        on
            label_returns.currency = fx.currency
            and caused.local_date = fx.rate_date
    group by caused.leak_event_id

),

-- every recovery of an order goes to its earliest leak event (created time, then event id)
first_events as (

    select
        leak_event_id,
        order_id,
        row_number() over (partition by order_id order by occurred_at, leak_event_id) as event_rank

    from caused

),

costed as (

    select
        caused.*,
        cast(coalesce(return_labels.return_label_cost, 0) as decimal(18, 2)) as return_label_cost,
        cast(
            case when first_events.event_rank = 1 then coalesce(recoveries.recoveries, 0) else 0 end
            as decimal(18, 2)
        ) as recoveries

    from caused
    inner join first_events
        on caused.leak_event_id = first_events.leak_event_id
    left join return_labels
        on caused.leak_event_id = return_labels.leak_event_id
    left join recoveries
        on caused.order_id = recoveries.order_id

),

-- §5 --------------------------------------------------------------------------------------------------------------

-- approvers named in `approved_by:<staff>`: in the event's own note, or in an internal note (visibility 1) of a
-- conversation about the event's order; an escalation is recorded when one names a staff member of approval_limits
note_approvers as (

    select
        caused.leak_event_id,
        approvals.approver
    from caused
    cross join
        {{ regex_matches('caused.note', 'approved_by:([A-Za-z0-9._-]+)', 'approver') }} as approvals
    where caused.note is not null

),

conversation_approvers as (

    select
        conversation_orders.order_id,
        approvals.approver
    from internal_notes
    inner join conversation_orders
        on internal_notes.conversation_slug = conversation_orders.conversation_slug
    cross join
        {{ regex_matches('internal_notes.body', 'approved_by:([A-Za-z0-9._-]+)', 'approver') }} as approvals
    where conversation_orders.order_id is not null

),

event_approvers as (

    select
        leak_event_id,
        approver
    from note_approvers
    union all
    select
        caused.leak_event_id,
        conversation_approvers.approver
    from caused
    inner join conversation_approvers
        on caused.order_id = conversation_approvers.order_id

),

banded as (

    select
        costed.leak_event_id,
        max(matrix.value_band) as value_band,
        max(matrix.first_choice) as first_choice,
        max(case when matrix.resolution = costed.resolution then 1 else 0 end) = 1 as is_allowed

    from costed
    left join profit
        on costed.order_id = profit.order_id
    inner join matrix
        on
            costed.cause = matrix.cause
            and coalesce(profit.net_revenue, 0) >= matrix.min_order_amount
            and (matrix.max_order_amount is null or coalesce(profit.net_revenue, 0) < matrix.max_order_amount)
    group by costed.leak_event_id

),

approvals as (

    select
        costed.leak_event_id,
        -- a token counts when it names a staff member of the approval_limits sheet (not e.g. `ops-lead`)
        count(limits.staff) > 0 as is_escalated,
        max(
            case
                when limits.max_amount >= case
                    when costed.event_type = 'refund' then costed.cash_refunded else costed.store_credit_issued
                end then 1
                else 0
            end
        ) = 1 as is_covered

    from costed
    left join event_approvers
        on costed.leak_event_id = event_approvers.leak_event_id
    left join limits
        on event_approvers.approver = limits.staff
    group by costed.leak_event_id

),

final as (

    select
        caused.leak_event_id,
        caused.event_type,
        caused.source_id,
        caused.order_id,
        caused.store_id,
        stores.market,
        caused.occurred_at,
        caused.local_date,
        cast({{ dbt.date_trunc('month', 'caused.local_date') }} as date) as period_start,
        caused.resolution,
        caused.cause,
        caused.cause_source,
        case
            when caused.fixed_preventable is not null then caused.fixed_preventable
            when caused.preventable_token = 'yes' then true
            when caused.preventable_token = 'no' then false
            else coalesce(causes.preventable_default, false)
        end as is_preventable,
        caused.staff,
        caused.note,
        caused.original_currency,
        caused.original_amount,
        caused.cash_refunded,
        caused.store_credit_issued,
        caused.store_credit_cost,
        caused.replacement_cost,
        caused.return_label_cost,
        caused.restocked_cogs,
        caused.recoveries,
        caused.chargeback_cost,
        cast(
            caused.cash_refunded + caused.store_credit_cost + caused.replacement_cost + caused.return_label_cost
            - caused.restocked_cogs - caused.recoveries + caused.chargeback_cost as decimal(18, 2)
        ) as leak_cost,
        cast(coalesce(profit.net_revenue, 0) as decimal(18, 2)) as order_value,
        banded.value_band,
        banded.first_choice,
        coalesce(approvals.is_escalated, false) as is_escalated,
        case
            when caused.resolution is not null
                then
                    coalesce(caused.resolution = banded.first_choice, false)
                    or (coalesce(banded.is_allowed, false) and coalesce(approvals.is_escalated, false))
        end as is_compliant,
        coalesce(
            caused.resolution in ('cash_refund', 'partial_refund')
            and banded.first_choice in ('store_credit', 'replacement', 'reship_free'),
            false
        ) as is_cash_before_credit,
        issuer_limits.max_amount as approval_limit,
        coalesce(
            caused.staff is not null
            and issuer_limits.max_amount is not null
            and case
                when caused.event_type = 'refund' then caused.cash_refunded else caused.store_credit_issued
            end > issuer_limits.max_amount
            and not coalesce(approvals.is_covered, false),
            false
        ) as is_over_limit_unapproved

    from costed as caused
    inner join stores
        on caused.store_id = stores.store_id
    left join causes
        on caused.cause = causes.cause
    left join profit
        on caused.order_id = profit.order_id
    left join banded
        on caused.leak_event_id = banded.leak_event_id
    left join approvals
        on caused.leak_event_id = approvals.leak_event_id
    left join limits as issuer_limits
        on caused.staff = issuer_limits.staff

)

select * from final
