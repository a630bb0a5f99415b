-- One row per AfterShip tracking (a parcel). The Shopify order id is turned into its GID to join Shopify.
{{
    config(
        materialized='incremental',
        unique_key='tracking_id',
    )
}}

with

source as (

    select * from {{ source('raw_aftership', 'trackings') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as tracking_id,
        tracking_number,
        slug as carrier,
        shipment_type as service,
        'gid://shopify/Order/' || order_id as order_id,
        order_number as order_name,
        'gid://shopify/Location/' || location_id as location_id,
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at,
        cast(shipment_pickup_date as timestamp with time zone) as picked_up_at,
        cast(shipment_delivery_date as timestamp with time zone) as delivered_at,
        cast(nullif(first_estimated_delivery__datetime, '') as date) as first_estimated_delivery_date,
        tag,
        subtag,
        _dlt_id as tracking_row_key,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
