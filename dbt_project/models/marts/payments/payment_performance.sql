-- One row per store × card brand × local month of charge attempts: authorisation success rate and the most
-- frequent failure code (METRICS.md §10).
with

charges as (

    select * from {{ ref('int_payments__charges_mapped') }}
    where store_id is not null

),

failure_codes as (

    select
        store_id,
        card_brand,
        period_start,
        failure_code,
        count(*) as failures,
        row_number() over (
            partition by store_id, card_brand, period_start
            order by count(*) desc, failure_code asc
        ) as failure_rank

    from charges
    where not is_succeeded
    group by store_id, card_brand, period_start, failure_code

),

attempts as (

    select
        store_id,
        card_brand,
        period_start,
        count(*) as attempted_charges,
        sum(case when is_succeeded then 1 else 0 end) as succeeded_charges

    from charges
    group by store_id, card_brand, period_start

),

final as (

    select
        cast(attempts.store_id as varchar) as store_id,
        cast(attempts.card_brand as varchar) as card_brand,
        cast(attempts.period_start as date) as period_start,
        cast(attempts.attempted_charges as bigint) as attempted_charges,
        cast(attempts.succeeded_charges as bigint) as succeeded_charges,
        cast(attempts.attempted_charges - attempts.succeeded_charges as bigint) as failed_charges,
        cast({{ safe_ratio('attempts.succeeded_charges', 'attempts.attempted_charges') }} as double)
            as auth_success_rate,
        cast(failure_codes.failure_code as varchar) as top_failure_code,
        cast(coalesce(failure_codes.failures, 0) as bigint) as top_failure_code_count

    from attempts
    left join failure_codes
        on
            attempts.store_id = failure_codes.store_id
            and attempts.card_brand = failure_codes.card_brand
            and attempts.period_start = failure_codes.period_start
            and failure_codes.failure_rank = 1

)

select * from final
