-- One row per store × card brand × local month with a succeeded charge or a chargeback: chargebacks, the
-- Visa VAMP-style ratio (same-month succeeded charges) and the Mastercard ECM-style ratio (previous month) with
-- their programme flags (METRICS.md §6).
with

charges as (

    select * from {{ ref('int_payments__charges_mapped') }}
    where
        store_id is not null
        and is_succeeded

),

chargebacks as (

    select * from {{ ref('int_payments__disputes_costed') }}
    where
        not is_inquiry
        and store_id is not null

),

succeeded as (

    select
        store_id,
        card_brand,
        period_start,
        count(*) as succeeded_charges

    from charges
    group by store_id, card_brand, period_start

),

disputed as (

    select
        store_id,
        card_brand,
        period_start,
        count(*) as dispute_count

    from chargebacks
    group by store_id, card_brand, period_start

),

cells as (

    select
        store_id,
        card_brand,
        period_start
    from succeeded
    union
    select
        store_id,
        card_brand,
        period_start
    from disputed

),

counted as (

    select
        cells.store_id,
        cells.card_brand,
        cells.period_start,
        coalesce(disputed.dispute_count, 0) as dispute_count,
        coalesce(this_month.succeeded_charges, 0) as succeeded_charges,
        coalesce(previous_month.succeeded_charges, 0) as succeeded_charges_previous_month

    from cells
    left join disputed
        on
            cells.store_id = disputed.store_id
            and cells.card_brand = disputed.card_brand
            and cells.period_start = disputed.period_start
    left join succeeded as this_month
        on
            cells.store_id = this_month.store_id
            and cells.card_brand = this_month.card_brand
            and cells.period_start = this_month.period_start
    left join succeeded as previous_month
        on
            cells.store_id = previous_month.store_id
            and cells.card_brand = previous_month.card_brand
            and previous_month.period_start = cast({{ dbt.dateadd('month', -1, 'cells.period_start') }} as date)

),

rated as (

    select
        counted.*,
        {{ safe_ratio('dispute_count', 'succeeded_charges') }} as dispute_rate_same_month,
        {{ safe_ratio('dispute_count', 'succeeded_charges_previous_month') }} as dispute_rate_previous_month

    from counted

),

final as (

    select
        cast(store_id as varchar) as store_id,
        cast(card_brand as varchar) as card_brand,
        cast(period_start as date) as period_start,
        cast(dispute_count as bigint) as dispute_count,
        cast(succeeded_charges as bigint) as succeeded_charges,
        cast(succeeded_charges_previous_month as bigint) as succeeded_charges_previous_month,
        cast(dispute_rate_same_month as double) as dispute_rate_same_month,
        cast(dispute_rate_previous_month as double) as dispute_rate_previous_month,
        cast(
            case
                when card_brand = 'visa' then dispute_rate_same_month
                when card_brand = 'mastercard' then dispute_rate_previous_month
            end as double
        ) as network_dispute_rate,
        cast(
            card_brand = 'visa'
            and period_start >= cast('2026-04-01' as date)
            and coalesce(dispute_rate_same_month, 0) >= 0.015 as boolean
        ) as is_visa_vamp_excessive,
        cast(
            card_brand = 'mastercard'
            and dispute_count >= 100
            and coalesce(dispute_rate_previous_month, 0) >= 0.015 as boolean
        ) as is_mastercard_ecm,
        cast(
            card_brand = 'mastercard'
            and dispute_count >= 300
            and coalesce(dispute_rate_previous_month, 0) >= 0.03 as boolean
        ) as is_mastercard_hecm

    from rated

)

select * from final
