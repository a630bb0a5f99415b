-- One row per dispute: is it preventable (METRICS.md §6) and why. Only the condition computable from Stripe
-- alone applies here (reason credit_not_processed: the refund never reached the customer); the 48 h SLA,
-- tracking and support first-reply conditions join in when those areas are modelled.
with

disputes as (

    select * from {{ ref('int_payments__disputes_costed') }}

),

final as (

    select
        dispute_id,
        reason = 'credit_not_processed' as is_preventable,
        case
            when reason = 'credit_not_processed' then 'refund_not_processed'
        end as preventable_because

    from disputes

)

select * from final
