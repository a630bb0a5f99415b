-- One row per checkpoint (carrier scan) of an AfterShip tracking.
with

checkpoints as (

    select * from {{ source('raw_aftership', 'trackings__checkpoints') }}

),

trackings as (

    select
        _dlt_id,
        id
    from {{ source('raw_aftership', 'trackings') }}

),

renamed as (

    select
        checkpoints._dlt_id as checkpoint_id,
        trackings.id as tracking_id,
        cast(checkpoints.checkpoint_time as timestamp with time zone) as checkpoint_at,
        checkpoints.tag,
        checkpoints.subtag,
        checkpoints.message,
        checkpoints.location

    from checkpoints
    inner join trackings
        on checkpoints._dlt_root_id = trackings._dlt_id

)

select * from renamed
