-- One row per claim-eligible parcel at the as-of time (METRICS.md §8; first matching type): lost / damaged
-- read off the tracking, damaged when a line of the parcel was refunded with cause damaged_in_transit, delayed
-- when a guaranteed service delivered late. Carries whether the claims log has the parcel and whether the
-- carrier's claim window has passed unclaimed.
with

parcels as (

    select * from {{ ref('int_fulfilment__parcels') }}

),

fulfillments as (

    select * from {{ ref('stg_shopify__fulfillments') }}

),

fulfillment_lines as (

    select * from {{ ref('stg_shopify__fulfillment_lines') }}

),

refunds as (

    select * from {{ ref('int_leaks__event_sources') }}
    where event_type = 'refund'

),

causes as (

    select * from {{ ref('stg_sheets__refund_causes') }}
    where cause != 'unknown'

),

refund_lines as (

    select * from {{ ref('stg_shopify__refund_lines') }}

),

claims as (

    select * from {{ ref('stg_sheets__carrier_claims') }}

),

-- refunds tagged damaged_in_transit: the note token, else the order tag when the order has one refund (the
-- leak event's tokens); not the Re:amaze tag nor an inferred cause (sandbox/world/fulfilment.md)
damaged_refunds as (

    select refunds.source_id as refund_id

    from refunds
    left join causes as note_causes
        on refunds.note_cause = note_causes.cause
    left join causes as tag_causes
        on refunds.tag_cause = tag_causes.cause
    where coalesce(note_causes.cause, tag_causes.cause) = 'damaged_in_transit'

),

damaged_tracking_numbers as (

    select distinct fulfillments.tracking_number

    from damaged_refunds
    inner join refund_lines
        on damaged_refunds.refund_id = refund_lines.refund_id
    inner join fulfillment_lines
        on refund_lines.order_line_id = fulfillment_lines.order_line_id
    inner join fulfillments
        on fulfillment_lines.fulfillment_id = fulfillments.fulfillment_id
    where fulfillments.created_at <= {{ as_of_ts() }}

),

claimed as (

    select distinct tracking_number
    from claims

),

typed as (

    select
        parcels.*,
        case
            when parcels.scan_claim_type is not null then parcels.scan_claim_type
            when damaged_tracking_numbers.tracking_number is not null then 'damaged'
            when parcels.is_late_guaranteed then 'delayed'
        end as claim_type,
        claimed.tracking_number is not null as has_claim

    from parcels
    left join damaged_tracking_numbers
        on parcels.tracking_number = damaged_tracking_numbers.tracking_number
    left join claimed
        on parcels.tracking_number = claimed.tracking_number

),

final as (

    select
        tracking_id,
        tracking_number,
        carrier,
        service,
        order_id,
        store_id,
        market,
        claim_type,
        claim_base_date,
        claim_period_start,
        claim_window_days,
        has_claim,
        cast({{ dbt.dateadd('day', 'claim_window_days', 'claim_base_date') }} as date) as claim_window_end_date,
        coalesce(
            not has_claim
            and as_of_date > cast({{ dbt.dateadd('day', 'claim_window_days', 'claim_base_date') }} as date),
            false
        ) as is_unfiled_past_window

    from typed
    where claim_type is not null

)

select * from final
