-- The portfolio's stores (brand × market) as the ops sheet defines them.
with

stores as (

    select * from {{ ref('stg_sheets__stores') }}

),

final as (

    select
        store_id,
        brand,
        market,
        currency,
        timezone

    from stores

)

select * from final
