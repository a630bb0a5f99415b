with

source as (

    select * from {{ source('raw_reamaze', 'contacts') }}

),

renamed as (

    select
        id as contact_id,
        brand,
        {{ hash_pii('name') }} as contact_name_hash,
        {{ hash_pii('email') }} as contact_email_hash,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
