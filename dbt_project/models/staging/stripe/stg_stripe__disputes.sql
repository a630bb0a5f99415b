with

source as (

    select * from {{ source('raw_stripe', 'disputes') }}

),

renamed as (

    select
        id as dispute_id,
        account_id,
        brand,
        cast(created as timestamp with time zone) as created_at,
        cast(amount as bigint) as amount_cents,
        cast(cast(amount as decimal(18, 2)) / 100 as decimal(18, 2)) as amount,
        upper(currency) as currency,
        status,
        reason,
        charge as charge_id,
        payment_intent as payment_intent_id,
        lower(card_brand) as card_brand,
        case_type,
        network_reason_code,
        status like 'warning%' or coalesce(case_type, '') = 'inquiry' as is_inquiry,
        cast(evidence_due_by as timestamp with time zone) as evidence_due_by,
        coalesce(has_evidence, false) as has_evidence,
        coalesce(past_due, false) as is_past_due,
        coalesce(submission_count, 0) as submission_count,
        is_charge_refundable,
        balance_transaction_ids

    from source

)

select * from renamed
