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

replacement_orders as (

    select * from {{ ref('stg_shopify__orders') }}
    where
        replacement_for_order_name is not null
        and created_at <= {{ as_of_ts() }}

),

store_credits as (

    select * from {{ ref('stg_shopify__store_credit_transactions') }}
    where created_at <= {{ as_of_ts() }}

),

returns as (

    select * from {{ ref('int_leaks__returns') }}

),

labels as (

    select * from {{ ref('int_leaks__labels') }}

),

catalog as (

    select * from {{ ref('stg_sheets__sku_catalog') }}

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

trackings as (

    select * from {{ ref('stg_aftership__trackings') }}
    where created_at <= {{ as_of_ts() }}

),

-- events localised: each at its store's local date -----------------------------------------------------------

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
        refunds.staff_member,
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

replacements_localised as (

    select
        replacement_orders.order_id as replacement_order_id,
        originals.order_id,
        replacement_orders.store_id,
        replacement_orders.created_at,
        replacement_orders.note,
        replacement_orders.currency,
        replacement_orders.tags like '%reship%' as is_reship,
        cast({{ to_local('replacement_orders.created_at', 'stores.timezone') }} as date) as local_date

    from replacement_orders
    inner join orders as originals
        on
            replacement_orders.store_id = originals.store_id
            and replacement_orders.replacement_for_order_name = originals.order_name
    inner join stores
        on replacement_orders.store_id = stores.store_id

),

credits_localised as (

    select
        store_credits.*,
        cast({{ to_local('store_credits.created_at', 'stores.timezone') }} as date) as local_date

    from store_credits
    inner join orders
        on store_credits.order_id = orders.order_id
    inner join stores
        on store_credits.store_id = stores.store_id

),

-- a lost dispute is dated (and converted) at the local date Stripe debited the disputed amount: when the dispute
-- opened (its withdrawal balance transaction), as its §6 chargeback_cost. A dispute object has no close time and
-- the charge.dispute.closed events expire after 30 days, so the close date is unknown for older disputes.
chargebacks_localised as (

    select
        disputes.*,
        disputes.created_at as lost_at,
        cast({{ to_local('disputes.created_at', 'stores.timezone') }} as date) as lost_date

    from disputes
    inner join stores
        on disputes.store_id = stores.store_id

),

-- every cost amount of an event in its own currency, dated at the event's local date ---------------------------

-- successful REFUND transactions to the original payment method
refund_cash_amounts as (

    select
        refunds_localised.refund_id as source_id,
        'cash_refunded' as component,
        cast(transactions.amount as decimal(38, 4)) as amount,
        transactions.currency,
        refunds_localised.local_date as rate_date

    from refunds_localised
    inner join transactions
        on refunds_localised.refund_id = transactions.refund_id
    where
        transactions.kind = 'REFUND'
        and transactions.status = 'SUCCESS'

),

-- COGS of refund lines restocked (RETURN) whose return, closed by this refund, was received by the clock
refund_restocked_amounts as (

    select
        refunds_localised.refund_id as source_id,
        'restocked_cogs' as component,
        cast(catalog.unit_cogs * refund_lines.quantity as decimal(38, 4)) as amount,
        catalog.cogs_currency as currency,
        refunds_localised.local_date as rate_date

    from refunds_localised
    inner join returns
        on
            refunds_localised.refund_id = returns.refund_id
            and returns.received_at is not null
    inner join refund_lines
        on refunds_localised.refund_id = refund_lines.refund_id
    inner join order_lines
        on refund_lines.order_line_id = order_lines.order_line_id
    inner join catalog
        on order_lines.sku = catalog.sku
    where refund_lines.restock_type = 'RETURN'

),

replacement_cogs_amounts as (

    select
        replacements_localised.replacement_order_id as source_id,
        'replacement_cost' as component,
        cast(catalog.unit_cogs * order_lines.quantity as decimal(38, 4)) as amount,
        catalog.cogs_currency as currency,
        replacements_localised.local_date as rate_date

    from replacements_localised
    inner join order_lines
        on replacements_localised.replacement_order_id = order_lines.order_id
    inner join catalog
        on order_lines.sku = catalog.sku

),

replacement_label_amounts as (

    select
        replacements_localised.replacement_order_id as source_id,
        'replacement_cost' as component,
        cast(labels.label_cost_amount as decimal(38, 4)) as amount,
        labels.currency,
        replacements_localised.local_date as rate_date

    from replacements_localised
    inner join labels
        on
            replacements_localised.replacement_order_id = labels.order_id
            and labels.direction = 'outbound'

),

-- an exchange's returned item, once received, goes back to stock
exchange_restocked_amounts as (

    select
        replacements_localised.replacement_order_id as source_id,
        'restocked_cogs' as component,
        cast(catalog.unit_cogs * returns.quantity as decimal(38, 4)) as amount,
        catalog.cogs_currency as currency,
        replacements_localised.local_date as rate_date

    from replacements_localised
    inner join returns
        on
            replacements_localised.replacement_order_id = returns.exchange_order_id
            and returns.received_at is not null
    inner join catalog
        on returns.sku = catalog.sku

),

store_credit_amounts as (

    select
        store_credit_transaction_id as source_id,
        'store_credit_issued' as component,
        cast(credit_amount as decimal(38, 4)) as amount,
        currency,
        local_date as rate_date

    from credits_localised

),

chargeback_amounts as (

    select
        dispute_id as source_id,
        'chargeback_cost' as component,
        cast(cost_local as decimal(38, 4)) as amount,
        currency,
        lost_date as rate_date

    from chargebacks_localised

),

cost_amounts as (

    select * from refund_cash_amounts
    union all
    select * from refund_restocked_amounts
    union all
    select * from replacement_cogs_amounts
    union all
    select * from replacement_label_amounts
    union all
    select * from exchange_restocked_amounts
    union all
    select * from store_credit_amounts
    union all
    select * from chargeback_amounts

),

-- ... converted once: one row per event source × cost component
costs_converted as (

    {{ sum_in_reporting_currency('cost_amounts', key='source_id') }}

),

costs as (

    select
        source_id,
        sum(case when component = 'cash_refunded' then amount_local end) as cash_refunded_local,
        sum(case when component = 'cash_refunded' then amount_reporting end) as cash_refunded,
        sum(case when component = 'store_credit_issued' then amount_reporting end) as store_credit_issued,
        sum(case when component = 'replacement_cost' then amount_reporting end) as replacement_cost,
        sum(case when component = 'restocked_cogs' then amount_reporting end) as restocked_cogs,
        sum(case when component = 'chargeback_cost' then amount_reporting end) as chargeback_cost

    from costs_converted
    group by source_id

),

-- refunds ------------------------------------------------------------------------------------------------------

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
                cast(coalesce(costs.cash_refunded_local, 0) as double)
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
        refunds_localised.staff_member as staff,
        refunds_localised.currency as original_currency,
        cast(coalesce(costs.cash_refunded_local, 0) as decimal(18, 2)) as original_amount,
        cast(coalesce(costs.cash_refunded, 0) as decimal(18, 2)) as cash_refunded,
        cast(0 as decimal(18, 2)) as store_credit_issued,
        cast(0 as decimal(18, 2)) as store_credit_cost,
        cast(0 as decimal(18, 2)) as replacement_cost,
        cast(coalesce(costs.restocked_cogs, 0) as decimal(18, 2)) as restocked_cogs,
        cast(0 as decimal(18, 2)) as chargeback_cost,
        returns.return_id,
        returns.return_reason,
        cast(null as varchar) as fixed_cause,
        cast(null as boolean) as fixed_preventable

    from refunds_localised
    left join costs
        on refunds_localised.refund_id = costs.source_id
    left join refund_line_value
        on refunds_localised.refund_id = refund_line_value.refund_id
    left join returns
        on refunds_localised.refund_id = returns.refund_id

),

-- replacement orders ----------------------------------------------------------------------------------------------

replacement_events as (

    select
        'replacement:' || {{ regex_group('replacements_localised.replacement_order_id', '([0-9]+)$') }}
            as leak_event_id,
        'replacement' as event_type,
        replacements_localised.replacement_order_id as source_id,
        replacements_localised.order_id,
        replacements_localised.store_id,
        replacements_localised.created_at as occurred_at,
        replacements_localised.local_date,
        case when replacements_localised.is_reship then 'reship_free' else 'replacement' end as resolution,
        replacements_localised.note,
        {{ regex_group('replacements_localised.note', '(^|\\s)cause:([a-z0-9_]+)', 2) }} as note_cause,
        cast(null as varchar) as tag_cause,
        cast(null as varchar) as preventable_token,
        cast(null as varchar) as staff,
        replacements_localised.currency as original_currency,
        cast(0 as decimal(18, 2)) as original_amount,
        cast(0 as decimal(18, 2)) as cash_refunded,
        cast(0 as decimal(18, 2)) as store_credit_issued,
        cast(0 as decimal(18, 2)) as store_credit_cost,
        cast(coalesce(costs.replacement_cost, 0) as decimal(18, 2)) as replacement_cost,
        cast(coalesce(costs.restocked_cogs, 0) as decimal(18, 2)) as restocked_cogs,
        cast(0 as decimal(18, 2)) as chargeback_cost,
        returns.return_id,
        returns.return_reason,
        cast(null as varchar) as fixed_cause,
        cast(null as boolean) as fixed_preventable

    from replacements_localised
    left join costs
        on replacements_localised.replacement_order_id = costs.source_id
    left join returns
        on replacements_localised.replacement_order_id = returns.exchange_order_id

),

-- store credit ---------------------------------------------------------------------------------------------------

store_credit_events as (

    select
        'store_credit:' || {{ regex_group('credits_localised.store_credit_transaction_id', '([0-9]+)$') }}
            as leak_event_id,
        'store_credit' as event_type,
        credits_localised.store_credit_transaction_id as source_id,
        credits_localised.order_id,
        credits_localised.store_id,
        credits_localised.created_at as occurred_at,
        credits_localised.local_date,
        'store_credit' as resolution,
        credits_localised.note,
        {{ regex_group('credits_localised.note', '(^|\\s)cause:([a-z0-9_]+)', 2) }} as note_cause,
        cast(null as varchar) as tag_cause,
        cast(null as varchar) as preventable_token,
        credits_localised.issued_by as staff,
        credits_localised.currency as original_currency,
        cast(credits_localised.credit_amount as decimal(18, 2)) as original_amount,
        cast(0 as decimal(18, 2)) as cash_refunded,
        cast(costs.store_credit_issued as decimal(18, 2)) as store_credit_issued,
        {{ to_cents('costs.store_credit_issued * ' ~ var('store_credit_cost_ratio')) }} as store_credit_cost,
        cast(0 as decimal(18, 2)) as replacement_cost,
        cast(0 as decimal(18, 2)) as restocked_cogs,
        cast(0 as decimal(18, 2)) as chargeback_cost,
        cast(null as varchar) as return_id,
        cast(null as varchar) as return_reason,
        cast(null as varchar) as fixed_cause,
        cast(null as boolean) as fixed_preventable

    from credits_localised
    left join costs
        on credits_localised.store_credit_transaction_id = costs.source_id

),

-- lost chargebacks ----------------------------------------------------------------------------------------------

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
        cast(costs.chargeback_cost as decimal(18, 2)) as chargeback_cost,
        cast(null as varchar) as return_id,
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
    left join costs
        on disputes.dispute_id = costs.source_id
    left join delivered_orders
        on disputes.order_id = delivered_orders.order_id
    where
        disputes.order_id is not null
        and disputes.store_id is not null
        -- a test order is no sale (§2), so its dispute is no leak either, as for its refunds
        and disputes.order_id in (select orders.order_id from orders)

),

events as (

    select * from refund_events
    union all
    select * from replacement_events
    union all
    select * from store_credit_events
    union all
    select * from chargeback_events

)

select * from events
