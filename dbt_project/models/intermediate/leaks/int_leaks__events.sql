-- One row per leak event of every kind at the run's as-of time (METRICS.md §3, rules in sandbox/world/leaks.md):
-- the events of int_leaks__event_sources with cause + cause_source (tagged: note token > order tag of a single
-- refund > Re:amaze `cause-` conversation tag; inferred: return reason > tracking exception > cancelReason),
-- preventability and leak cost.
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
        cast(0 as decimal(18, 2)) as return_label_cost,
        caused.restocked_cogs,
        cast(0 as decimal(18, 2)) as recoveries,
        caused.chargeback_cost

    from caused
    inner join stores
        on caused.store_id = stores.store_id
    left join causes
        on caused.cause = causes.cause

)

select
    *,
    cast(
        cash_refunded + store_credit_cost + replacement_cost + return_label_cost - restocked_cogs - recoveries
        + chargeback_cost as decimal(18, 2)
    ) as leak_cost
from final
