with

source as (

    select * from {{ source('raw_sheets', 'approval_limits') }}

),

renamed as (

    select
        staff,
        role,
        cast(max_amount as decimal(18, 2)) as max_amount,
        currency

    from source

)

select * from renamed
