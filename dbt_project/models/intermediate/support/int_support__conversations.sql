-- One row per conversation created at or before the clock, attributed to a store and a local month, with the
-- classification flags of METRICS.md §9 (support.md metric rules 1, 4, 6, 7, 9).
{%- set issue_set = ['refund', 'return', 'damaged', 'lost', 'late', 'wrong-item', 'chargeback'] %}
{%- set issue_tag_pattern = "'.*,(" ~ issue_set | join('|') ~ "|cause-[^,]*),.*'" %}

with

conversations as (

    select * from {{ ref('stg_reamaze__conversations') }}
    where created_at <= {{ as_of_ts() }}

),

stores as (

    select
        store_id,
        lower(brand) as brand_key,
        lower(shop_domain) as shop_domain,
        timezone

    from {{ ref('stg_sheets__stores') }}

),

-- a conversation without an order belongs to its brand's first store (the sheet lists stores in that order;
-- its row order is not loaded, and the first store of each brand is also the lowest store_id)
brand_first_store as (

    select
        brand_key,
        min(store_id) as store_id

    from stores
    group by brand_key

),

orders as (

    select
        order_id,
        store_id,
        order_name

    from {{ ref('stg_shopify__orders') }}

),

targets as (

    select * from {{ ref('stg_sheets__support_targets') }}

),

attributed as (

    select
        conversations.conversation_slug,
        conversations.brand,
        conversations.created_at,
        conversations.status,
        conversations.category,
        conversations.channel,
        conversations.tag_list,
        conversations.assignee_staff_id,
        orders.order_id,
        coalesce(orders.store_id, brand_first_store.store_id) as store_id

    from conversations
    left join stores as order_stores
        on conversations.shop_domain = order_stores.shop_domain
    left join orders
        on
            order_stores.store_id = orders.store_id
            and conversations.order_number = orders.order_name
    left join brand_first_store
        on conversations.brand = brand_first_store.brand_key

),

classified as (

    select
        attributed.conversation_slug,
        attributed.brand,
        attributed.store_id,
        attributed.order_id,
        cast(
            {{ dbt.date_trunc('month', 'cast(' ~ to_local('attributed.created_at', 'stores.timezone') ~ ' as date)') }}
            as date
        ) as period_start,
        attributed.created_at,
        attributed.status,
        attributed.category,
        attributed.channel,
        attributed.assignee_staff_id,
        attributed.status = 3 as is_spam,
        attributed.status in (2, 6) as is_resolved,
        -- spam and chatbot-held conversations owe no human first response
        attributed.status not in (3, 7, 8) as is_frt_population,
        attributed.status != 3
        and (
            attributed.category in ('{{ issue_set | join("', '") }}')  -- noqa: LT05
            or {{ regex_full_match('attributed.tag_list', issue_tag_pattern) }}
        ) as is_issue_ticket,
        attributed.status != 3
        and targets.template_required_categories like '%;' || attributed.category || ';%' as is_template_required,
        targets.timezone as support_timezone,
        targets.support_start_hour,
        targets.support_end_hour,
        targets.frt_target_hours

    from attributed
    inner join stores
        on attributed.store_id = stores.store_id
    left join targets
        on attributed.brand = targets.brand_key

)

select * from classified
