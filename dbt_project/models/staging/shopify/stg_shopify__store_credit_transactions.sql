with

source as (

    select * from {{ source('raw_shopify', 'store_credit_transactions') }}

),

renamed as (

    select
        id as store_credit_transaction_id,
        account_id as store_credit_account_id,
        customer_id,
        order_id,
        store_id,
        origin_transaction_id,
        cast(amount as decimal(18, 2)) as credit_amount,
        currency,
        cast(created_at as timestamp with time zone) as created_at,
        cast(expires_at as timestamp with time zone) as expires_at,
        issued_by_staff_id,
        -- the issuer's staff handle: the display name lower-cased, spaces to `-`
        lower(replace(trim(issued_by_name), ' ', '-')) as issued_by,
        note

    from source

)

select * from renamed
