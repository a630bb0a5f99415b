with

source as (

    select * from {{ source('raw_reamaze', 'response_templates') }}

),

renamed as (

    select
        id as template_id,
        brand,
        name as template_name,
        body as template_body,
        group_id as template_group_id,
        group_name as template_group_name,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
