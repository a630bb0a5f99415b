-- One row per charge.dispute.* event Stripe announced: when a dispute changed, e.g. when it closed.
with

source as (

    select * from {{ source('raw_stripe', 'dispute_events') }}

),

renamed as (

    select
        id as event_id,
        account_id,
        brand,
        type as event_type,
        dispute as dispute_id,
        status as dispute_status,
        cast(created as timestamp with time zone) as created_at

    from source

)

select * from renamed
