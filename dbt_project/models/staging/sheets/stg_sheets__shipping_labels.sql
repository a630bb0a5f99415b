with

source as (

    select * from {{ source('raw_sheets', 'shipping_labels') }}

),

renamed as (

    select
        cast(label_id as bigint) as label_id,
        provider,
        store_id,
        order_name,
        cast(shipment_date as date) as shipment_date,
        direction,
        carrier,
        service,
        tracking_number,
        nullif(return_name, '') as return_name,
        cast(cost as decimal(18, 2)) as label_cost_amount,
        currency

    from source

)

select * from renamed
