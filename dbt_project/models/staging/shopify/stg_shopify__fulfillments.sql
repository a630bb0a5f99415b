{{
    config(
        materialized='incremental',
        unique_key='fulfillment_id',
    )
}}

with

source as (

    select * from {{ source('raw_shopify', 'fulfillments') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as fulfillment_id,
        order_id,
        store_id,
        name as fulfillment_name,
        status,
        location_id,
        tracking_number,
        tracking_company,
        tracking_url,
        cast(total_quantity as integer) as total_quantity,
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
