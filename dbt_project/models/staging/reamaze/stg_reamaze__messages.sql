{{
    config(
        materialized='incremental',
        unique_key='message_id',
    )
}}

with

source as (

    select * from {{ source('raw_reamaze', 'messages') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        message_key as message_id,
        brand,
        conversation_slug,
        cast(created_at as timestamp with time zone) as created_at,
        cast(visibility as integer) as visibility,
        cast(origin_id as integer) as origin_id,
        origin_id is not null as is_automated,
        user_is_staff,
        {{ hash_pii('user_email') }} as user_email_hash,
        body,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
