with

source as (

    select * from {{ source('raw_sheets', 'support_targets') }}

),

renamed as (

    select
        brand,
        lower(brand) as brand_key,
        timezone,
        support_hours_start,
        support_hours_end,
        cast(substr(support_hours_start, 1, 2) as integer)
        + cast(substr(support_hours_start, 4, 2) as integer) / 60.0 as support_start_hour,
        cast(substr(support_hours_end, 1, 2) as integer)
        + cast(substr(support_hours_end, 4, 2) as integer) / 60.0 as support_end_hour,
        cast(frt_target_hours as double) as frt_target_hours,
        -- semicolon-wrapped so a category is matched with like '%;<category>;%'
        ';' || replace(template_required_categories, ' ', '') || ';' as template_required_categories

    from source

)

select * from renamed
