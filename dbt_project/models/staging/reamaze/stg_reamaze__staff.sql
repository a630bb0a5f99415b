with

source as (

    select * from {{ source('raw_reamaze', 'staff') }}

),

renamed as (

    select
        id as staff_id,
        brand,
        -- agents are reported by name (their work identity); their login e-mail is hashed like any address
        name as staff_name,
        {{ hash_pii('email') }} as staff_email_hash,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
