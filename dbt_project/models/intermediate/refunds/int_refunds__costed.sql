-- One row per Shopify refund: its cost in the reporting currency, cause and preventability (METRICS.md §3).
with

refunds as (

    select * from {{ ref('stg_shopify__refunds') }}

),

transactions as (

    select * from {{ ref('stg_shopify__transactions') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

causes as (

    select * from {{ ref('stg_sheets__refund_causes') }}

),

fx as (

    select * from {{ ref('int_fx__daily_rates') }}

),

refunds_per_order as (

    select
        order_id,
        count(*) as refund_count

    from refunds
    group by order_id

),

localised as (

    select
        refunds.refund_id,
        refunds.order_id,
        refunds.store_id,
        refunds.created_at,
        refunds.note,
        orders.tags as order_tags,
        refunds_per_order.refund_count as order_refund_count,
        cast({{ to_local('refunds.created_at', 'stores.timezone') }} as date) as local_date

    from refunds
    inner join orders
        on refunds.order_id = orders.order_id
    inner join stores
        on refunds.store_id = stores.store_id
    inner join refunds_per_order
        on refunds.order_id = refunds_per_order.order_id

),

cash as (

    select
        localised.refund_id,
        max(transactions.currency) as currency,
        sum(transactions.amount) as cash_refunded_local,
        sum({{ to_cents('transactions.amount * fx.rate_to_reporting') }}) as cash_refunded

    from localised
    inner join transactions
        on localised.refund_id = transactions.refund_id
    left join fx
        on
            transactions.currency = fx.currency
            and localised.local_date = fx.rate_date
    where
        transactions.kind = 'REFUND'
        and transactions.status = 'SUCCESS'
    group by localised.refund_id

),

tokens as (

    select
        localised.*,
        {{ regex_group('localised.note', '(^|\\s)cause:([a-z0-9_]+)', 2) }} as note_cause,
        case
            when localised.order_refund_count = 1
                then {{ regex_group('localised.order_tags', '(^|,\\s*)refund-cause:([a-z0-9_]+)', 2) }}
        end as tag_cause,
        {{ regex_group('localised.note', '(^|\\s)preventable:(yes|no)', 2) }} as note_preventable,
        {{ regex_group('lower(localised.order_tags)', '(^|,\\s*)preventable:(yes|no)', 2) }} as tag_preventable

    from localised

),

assigned as (

    select
        tokens.*,
        case
            when note_causes.cause is not null then note_causes.cause
            when tag_causes.cause is not null then tag_causes.cause
            else 'unknown'
        end as cause,
        case
            when note_causes.cause is not null or tag_causes.cause is not null then 'tagged'
            else 'unknown'
        end as cause_source

    from tokens
    left join causes as note_causes
        on
            tokens.note_cause = note_causes.cause
            and note_causes.cause != 'unknown'
    left join causes as tag_causes
        on
            tokens.tag_cause = tag_causes.cause
            and tag_causes.cause != 'unknown'

),

final as (

    select
        assigned.refund_id,
        assigned.order_id,
        assigned.store_id,
        assigned.created_at as occurred_at,
        assigned.local_date,
        cast({{ dbt.date_trunc('month', 'assigned.local_date') }} as date) as period_start,
        assigned.cause,
        assigned.cause_source,
        case
            when assigned.note_preventable is not null then assigned.note_preventable = 'yes'
            when assigned.tag_preventable is not null then assigned.tag_preventable = 'yes'
            else coalesce(causes.preventable_default, false)
        end as is_preventable,
        cash.currency,
        cast(coalesce(cash.cash_refunded_local, 0) as decimal(18, 2)) as cash_refunded_local,
        cast(coalesce(cash.cash_refunded, 0) as decimal(18, 2)) as refund_cost

    from assigned
    left join cash
        on assigned.refund_id = cash.refund_id
    left join causes
        on assigned.cause = causes.cause

)

select * from final
