with

source as (

    select * from {{ source('raw_stripe', 'refunds') }}

),

renamed as (

    select
        id as refund_id,
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
        balance_transaction as balance_transaction_id,
        metadata_shopify_order as shopify_order_name

    from source

)

select * from renamed
