-- One row per checkpoint (carrier scan) of an AfterShip tracking. Incremental per tracking: the checkpoints of
-- every tracking loaded again replace the ones held (dlt replaces a merged tracking's checkpoints the same way).
{{
    config(
        materialized='incremental',
        unique_key='tracking_id',
    )
}}

with

checkpoints as (

    select * from {{ source('raw_aftership', 'trackings__checkpoints') }}

),

trackings as (

    select
        _dlt_id,
        _dlt_load_id,
        id
    from {{ source('raw_aftership', 'trackings') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        checkpoints._dlt_id as checkpoint_id,
        trackings.id as tracking_id,
        cast(checkpoints.checkpoint_time as timestamp with time zone) as checkpoint_at,
        checkpoints.tag,
        checkpoints.subtag,
        checkpoints.message,
        checkpoints.location,
        trackings._dlt_load_id as loaded_by

    from checkpoints
    inner join trackings
        on checkpoints._dlt_root_id = trackings._dlt_id

)

select * from renamed
