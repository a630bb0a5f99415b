with

source as (

    select * from {{ source('raw_sheets', 'supplier_credits') }}

),

renamed as (

    select
        credit_id,
        supplier_id,
        store_id,
        order_name,
        sku,
        cast(issued_date as date) as issued_date,
        cast(amount as decimal(18, 2)) as credit_amount,
        currency

    from source

)

select * from renamed
