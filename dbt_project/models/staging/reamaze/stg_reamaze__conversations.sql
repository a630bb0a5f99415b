with

source as (

    select * from {{ source('raw_reamaze', 'conversations') }}

),

renamed as (

    select
        slug as conversation_slug,
        brand,
        subject,
        cast(created_at as timestamp with time zone) as created_at,
        cast(status as integer) as status,
        category_slug as category,
        category_name,
        channel,
        -- comma-wrapped so a tag is matched with like '%,<tag>,%'
        ',' || coalesce(tags, '') || ',' as tag_list,
        nullif(order_number, '') as order_number,
        nullif(lower(shop_domain), '') as shop_domain,
        author_id as author_contact_id,
        assignee_id as assignee_staff_id,
        cast(last_customer_message_at as timestamp with time zone) as last_customer_message_at,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
