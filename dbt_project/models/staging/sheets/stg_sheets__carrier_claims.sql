with

source as (

    select * from {{ source('raw_sheets', 'carrier_claims') }}

),

renamed as (

    select
        claim_id,
        store_id,
        order_name,
        tracking_number,
        carrier,
        claim_type,
        cast(filed_date as date) as filed_date,
        cast(claimed_amount as decimal(18, 2)) as claimed_amount,
        currency,
        status,
        cast(paid_date as date) as paid_date,
        cast(paid_amount as decimal(18, 2)) as paid_amount

    from source

)

select * from renamed
