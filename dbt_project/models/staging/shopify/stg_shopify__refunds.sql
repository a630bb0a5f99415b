{{
    config(
        materialized='incremental',
        unique_key='refund_id',
    )
}}

with

source as (

    select * from {{ source('raw_shopify', 'refunds') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as refund_id,
        order_id,
        store_id,
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at,
        note,
        cast(total_refunded_amount as decimal(18, 2)) as total_refunded_amount,
        currency,
        staff_member_id,
        -- the staff handle (`approved_by:` tokens, approval limits): the display name lower-cased, spaces to `-`
        lower(replace(trim(staff_member_name), ' ', '-')) as staff_member,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
