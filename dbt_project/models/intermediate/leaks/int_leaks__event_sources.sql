-- One row per leak event of every kind at the run's as-of time, as its source gives it (METRICS.md §3, rules in
-- sandbox/world/leaks.md): Shopify refunds, replacement orders, store-credit transactions and lost chargebacks,
-- with the cost components read off the event itself (reporting currency, converted at the event's local date and
-- rounded per source amount) and the raw cause / preventable tokens. int_leaks__events resolves causes, assigns
-- recoveries and return labels and adds the §5 fields.
with

refunds as (

    select * from {{ ref('stg_shopify__refunds') }}
    where created_at <= {{ as_of_ts() }}

),

refund_lines as (

    select * from {{ ref('stg_shopify__refund_lines') }}

),

transactions as (

    select * from {{ ref('stg_shopify__transactions') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}
    where not is_test

),

order_lines as (

    select * from {{ ref('stg_shopify__order_lines') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

fx as (

    select * from {{ ref('int_fx__daily_rates') }}

),

disputes as (

    select * from {{ ref('int_payments__disputes_costed') }}
    where
        not is_inquiry
        and status = 'lost'

),

dispute_events as (

    select * from {{ ref('stg_stripe__dispute_events') }}
    where
        event_type = 'charge.dispute.closed'
        and created_at <= {{ as_of_ts() }}

),

trackings as (

    select * from {{ ref('stg_aftership__trackings') }}
    where created_at <= {{ as_of_ts() }}

),

-- refunds ------------------------------------------------------------------------------------------------------

refunds_per_order as (

    select
        order_id,
        count(*) as refund_count

    from refunds
    group by order_id

),

refunds_localised as (

    select
        refunds.refund_id,
        refunds.order_id,
        refunds.store_id,
        refunds.created_at,
        refunds.note,
        orders.tags as order_tags,
        orders.currency,
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

refund_cash as (

    select
        refunds_localised.refund_id,
        sum(transactions.amount) as cash_refunded_local,
        sum({{ to_cents('transactions.amount * fx.rate_to_reporting') }}) as cash_refunded

    from refunds_localised
    inner join transactions
        on refunds_localised.refund_id = transactions.refund_id
    left join fx
        on
            transactions.currency = fx.currency
            and refunds_localised.local_date = fx.rate_date
    where
        transactions.kind = 'REFUND'
        and transactions.status = 'SUCCESS'
    group by refunds_localised.refund_id

),

-- the refunded lines' net value (original currency): a refund paying back < 90 % of it is a partial refund
refund_line_value as (

    select
        refund_lines.refund_id,
        sum(
            (order_lines.unit_price * order_lines.quantity - order_lines.discount_amount)
            * refund_lines.quantity / nullif(order_lines.quantity, 0)
        ) as refunded_line_value

    from refund_lines
    inner join order_lines
        on refund_lines.order_line_id = order_lines.order_line_id
    group by refund_lines.refund_id

),

refund_events as (

    select
        'refund:' || {{ regex_group('refunds_localised.refund_id', '([0-9]+)$') }} as leak_event_id,
        'refund' as event_type,
        refunds_localised.refund_id as source_id,
        refunds_localised.order_id,
        refunds_localised.store_id,
        refunds_localised.created_at as occurred_at,
        refunds_localised.local_date,
        case
            when
                cast(coalesce(refund_cash.cash_refunded_local, 0) as double)
                < 0.9 * cast(coalesce(refund_line_value.refunded_line_value, 0) as double)
                then 'partial_refund'
            else 'cash_refund'
        end as resolution,
        refunds_localised.note,
        {{ regex_group('refunds_localised.note', '(^|\\s)cause:([a-z0-9_]+)', 2) }} as note_cause,
        case
            when refunds_localised.order_refund_count = 1
                then {{ regex_group('refunds_localised.order_tags', '(^|,\\s*)refund-cause:([a-z0-9_]+)', 2) }}
        end as tag_cause,
        coalesce(
            {{ regex_group('lower(refunds_localised.note)', '(^|\\s)preventable:(yes|no)', 2) }},
            {{ regex_group('lower(refunds_localised.order_tags)', '(^|,\\s*)preventable:(yes|no)', 2) }}
        ) as preventable_token,
        cast(null as varchar) as staff,
        refunds_localised.currency as original_currency,
        cast(coalesce(refund_cash.cash_refunded_local, 0) as decimal(18, 2)) as original_amount,
        cast(coalesce(refund_cash.cash_refunded, 0) as decimal(18, 2)) as cash_refunded,
        cast(0 as decimal(18, 2)) as store_credit_issued,
        cast(0 as decimal(18, 2)) as store_credit_cost,
        cast(0 as decimal(18, 2)) as replacement_cost,
        cast(0 as decimal(18, 2)) as restocked_cogs,
        cast(0 as decimal(18, 2)) as chargeback_cost,
        cast(null as varchar) as return_reason,
        cast(null as varchar) as fixed_cause,
        cast(null as boolean) as fixed_preventable

    from refunds_localised
    left join refund_cash
        on refunds_localised.refund_id = refund_cash.refund_id
    left join refund_line_value
        on refunds_localised.refund_id = refund_line_value.refund_id

),

-- lost chargebacks ----------------------------------------------------------------------------------------------

dispute_closures as (

    select
        dispute_id,
        min(created_at) as closed_at

    from dispute_events
    group by dispute_id

),

-- a lost dispute is dated (and converted) at the local date it closed; without its close event (older than
-- Stripe's event retention at the first run) at the date it was opened
chargebacks_localised as (

    select
        disputes.*,
        coalesce(dispute_closures.closed_at, disputes.created_at) as lost_at,
        cast(
            {{ to_local('coalesce(dispute_closures.closed_at, disputes.created_at)', 'stores.timezone') }} as date
        ) as lost_date

    from disputes
    inner join stores
        on disputes.store_id = stores.store_id
    left join dispute_closures
        on disputes.dispute_id = dispute_closures.dispute_id

),

delivered_orders as (

    select distinct order_id
    from trackings
    where
        delivered_at is not null
        and delivered_at <= {{ as_of_ts() }}

),

chargeback_events as (

    select
        'chargeback:' || disputes.dispute_id as leak_event_id,
        'chargeback' as event_type,
        disputes.dispute_id as source_id,
        disputes.order_id,
        disputes.store_id,
        disputes.lost_at as occurred_at,
        disputes.lost_date as local_date,
        cast(null as varchar) as resolution,
        cast(null as varchar) as note,
        cast(null as varchar) as note_cause,
        cast(null as varchar) as tag_cause,
        cast(null as varchar) as preventable_token,
        cast(null as varchar) as staff,
        disputes.currency as original_currency,
        disputes.cost_local as original_amount,
        cast(0 as decimal(18, 2)) as cash_refunded,
        cast(0 as decimal(18, 2)) as store_credit_issued,
        cast(0 as decimal(18, 2)) as store_credit_cost,
        cast(0 as decimal(18, 2)) as replacement_cost,
        cast(0 as decimal(18, 2)) as restocked_cogs,
        {{ to_cents('disputes.cost_local * fx.rate_to_reporting') }} as chargeback_cost,
        cast(null as varchar) as return_reason,
        case disputes.reason
            when 'product_not_received'
                then case when delivered_orders.order_id is not null then 'late_delivery' else 'lost_in_transit' end
            when 'product_unacceptable' then 'not_as_described'
            when 'fraudulent' then 'fraud'
            when 'credit_not_processed' then 'refund_process_failure'
            when 'duplicate' then 'duplicate_charge'
            else 'unknown'
        end as fixed_cause,
        cast(null as boolean) as fixed_preventable

    from chargebacks_localised as disputes
    left join fx
        on
            disputes.currency = fx.currency
            and disputes.lost_date = fx.rate_date
    left join delivered_orders
        on disputes.order_id = delivered_orders.order_id
    where
        disputes.order_id is not null
        and disputes.store_id is not null

),

events as (

    select * from refund_events
    union all
    select * from chargeback_events

)

select * from events
