with

source as (

    select * from {{ source('raw_sheets', 'refund_causes') }}

),

renamed as (

    select
        code as cause,
        label as cause_label,
        owner as cause_owner,
        cast(preventable_default as boolean) as preventable_default

    from source

)

select * from renamed
