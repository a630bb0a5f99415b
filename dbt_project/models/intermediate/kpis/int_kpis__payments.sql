-- Chargeback, authorisation and reconciliation KPIs (METRICS.md §6, §10, §11) in the long format of marts.kpis.
-- Monthly rows per store × local month with at least one charge attempt or chargeback, plus the portfolio
-- (sums of numerators and denominators); as-of rows per store and portfolio at the UTC date of the clock.
-- Inquiries are not chargebacks and never count; charges that map to no store are ignored.
with

charges as (

    select * from {{ ref('int_payments__charges_mapped') }}
    where store_id is not null

),

chargebacks as (

    select
        disputes.*,
        coalesce(preventability.is_preventable, false) as is_preventable

    from {{ ref('int_payments__disputes_costed') }} as disputes
    left join {{ ref('int_payments__dispute_preventability') }} as preventability
        on disputes.dispute_id = preventability.dispute_id
    where not disputes.is_inquiry

),

issues as (

    select * from {{ ref('int_payments__reconciliation') }}

),

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

issue_types as (

    select 'missing_stripe_charge' as issue_type
    union all
    select 'orphan_stripe_charge'
    union all
    select 'amount_mismatch'
    union all
    select 'missing_stripe_refund'
    union all
    select 'orphan_stripe_refund'

),

charge_months as (

    select
        store_id,
        period_start,
        card_brand,
        count(*) as attempts,
        sum(case when is_succeeded then 1 else 0 end) as succeeded

    from charges
    group by store_id, period_start, card_brand

),

auth_by_brand as (

    select
        store_id,
        period_start,
        card_brand,
        sum(attempts) as attempts,
        sum(succeeded) as succeeded

    from charge_months
    group by store_id, period_start, card_brand
    union all
    select
        null as store_id,
        period_start,
        card_brand,
        sum(attempts) as attempts,
        sum(succeeded) as succeeded

    from charge_months
    group by period_start, card_brand

),

auth_total as (

    select
        store_id,
        period_start,
        sum(attempts) as attempts,
        sum(succeeded) as succeeded

    from auth_by_brand
    group by store_id, period_start

),

dispute_months as (

    select
        store_id,
        period_start,
        count(*) as disputes,
        sum(chargeback_cost) as chargeback_cost,
        sum(case when status = 'won' then 1 else 0 end) as won,
        sum(case when status = 'lost' then 1 else 0 end) as lost,
        sum(case when is_preventable then 1 else 0 end) as preventable,
        sum(case when card_brand = 'visa' then 1 else 0 end) as visa_disputes,
        sum(case when card_brand = 'mastercard' then 1 else 0 end) as mastercard_disputes

    from chargebacks
    where store_id is not null
    group by store_id, period_start

),

succeeded_months as (

    select
        store_id,
        period_start,
        sum(case when card_brand = 'visa' then succeeded else 0 end) as visa_succeeded,
        sum(case when card_brand = 'mastercard' then succeeded else 0 end) as mastercard_succeeded

    from charge_months
    group by store_id, period_start

),

store_months as (

    select
        store_id,
        period_start
    from succeeded_months
    union
    select
        store_id,
        period_start
    from dispute_months

),

dispute_store_level as (

    select
        store_months.store_id,
        store_months.period_start,
        coalesce(dispute_months.disputes, 0) as disputes,
        coalesce(dispute_months.chargeback_cost, 0) as chargeback_cost,
        coalesce(dispute_months.won, 0) as won,
        coalesce(dispute_months.lost, 0) as lost,
        coalesce(dispute_months.preventable, 0) as preventable,
        coalesce(dispute_months.visa_disputes, 0) as visa_disputes,
        coalesce(dispute_months.mastercard_disputes, 0) as mastercard_disputes,
        coalesce(this_month.visa_succeeded, 0) as visa_succeeded,
        coalesce(previous_month.mastercard_succeeded, 0) as mastercard_succeeded_previous_month

    from store_months
    left join dispute_months
        on
            store_months.store_id = dispute_months.store_id
            and store_months.period_start = dispute_months.period_start
    left join succeeded_months as this_month
        on
            store_months.store_id = this_month.store_id
            and store_months.period_start = this_month.period_start
    left join succeeded_months as previous_month
        on
            store_months.store_id = previous_month.store_id
            and previous_month.period_start = cast({{ dbt.dateadd('month', -1, 'store_months.period_start') }} as date)

),

dispute_levels as (

    select * from dispute_store_level
    union all
    select
        null as store_id,
        period_start,
        sum(disputes) as disputes,
        sum(chargeback_cost) as chargeback_cost,
        sum(won) as won,
        sum(lost) as lost,
        sum(preventable) as preventable,
        sum(visa_disputes) as visa_disputes,
        sum(mastercard_disputes) as mastercard_disputes,
        sum(visa_succeeded) as visa_succeeded,
        sum(mastercard_succeeded_previous_month) as mastercard_succeeded_previous_month

    from dispute_store_level
    group by period_start

),

clock as (

    select cast({{ to_local(as_of_ts(), "'UTC'") }} as date) as period_start

),

store_scopes as (

    select store_id from stores
    union all
    select null as store_id

),

asof_disputes as (

    select
        store_scopes.store_id,
        coalesce(sum(case when chargebacks.is_at_risk then 1 else 0 end), 0) as at_risk,
        coalesce(sum(case when chargebacks.is_missed then 1 else 0 end), 0) as missed

    from store_scopes
    left join chargebacks
        on
            store_scopes.store_id = chargebacks.store_id
            or store_scopes.store_id is null
    group by store_scopes.store_id

),

asof_issues as (

    select
        store_scopes.store_id,
        issue_types.issue_type,
        count(issues.issue_type) as issue_count

    from store_scopes
    cross join issue_types
    left join issues
        on
            issue_types.issue_type = issues.issue_type
            and (store_scopes.store_id = issues.store_id or store_scopes.store_id is null)
    group by store_scopes.store_id, issue_types.issue_type

),

{%- set dispute_values = [
    ('dispute_count', 'cast(disputes as double)'),
    ('chargeback_cost', 'cast(chargeback_cost as double)'),
    ('dispute_win_rate', safe_ratio('won', 'won + lost')),
    ('preventable_dispute_share', safe_ratio('preventable', 'disputes')),
    ('dispute_rate_visa', safe_ratio('visa_disputes', 'visa_succeeded')),
    ('dispute_rate_mastercard', safe_ratio('mastercard_disputes', 'mastercard_succeeded_previous_month')),
] %}

long_format as (

    select
        'auth_success_rate' as metric,
        store_id,
        period_start,
        'month' as grain,
        cast(null as varchar) as dimension,
        cast(null as varchar) as dimension_value,
        {{ safe_ratio('succeeded', 'attempts') }} as value
    from auth_total
    union all
    select
        'auth_success_rate' as metric,
        store_id,
        period_start,
        'month' as grain,
        'card_brand' as dimension,
        card_brand as dimension_value,
        {{ safe_ratio('succeeded', 'attempts') }} as value
    from auth_by_brand
    {%- for metric, expression in dispute_values %}
        union all
        select
            '{{ metric }}' as metric,
            store_id,
            period_start,
            'month' as grain,
            cast(null as varchar) as dimension,
            cast(null as varchar) as dimension_value,
            {{ expression }} as value
        from dispute_levels
    {%- endfor %}
    union all
    select
        'disputes_at_risk' as metric,
        asof_disputes.store_id,
        clock.period_start,
        'asof' as grain,
        cast(null as varchar) as dimension,
        cast(null as varchar) as dimension_value,
        cast(asof_disputes.at_risk as double) as value
    from asof_disputes
    cross join clock
    union all
    select
        'disputes_missed' as metric,
        asof_disputes.store_id,
        clock.period_start,
        'asof' as grain,
        cast(null as varchar) as dimension,
        cast(null as varchar) as dimension_value,
        cast(asof_disputes.missed as double) as value
    from asof_disputes
    cross join clock
    union all
    select
        'integration_issue_count' as metric,
        asof_issues.store_id,
        clock.period_start,
        'asof' as grain,
        'issue_type' as dimension,
        asof_issues.issue_type as dimension_value,
        cast(asof_issues.issue_count as double) as value
    from asof_issues
    cross join clock

),

final as (

    select
        metric,
        store_id,
        period_start,
        grain,
        dimension,
        dimension_value,
        value

    from long_format

)

select * from final
