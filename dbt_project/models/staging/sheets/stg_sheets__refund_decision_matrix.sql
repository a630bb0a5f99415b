{#- One row per cause × value band × allowed resolution: the sheet's `;`-separated list split into rows. -#}
with

source as (

    select * from {{ source('raw_sheets', 'refund_decision_matrix') }}

),

positions as (

    {{ dbt.generate_series(16) }}

),

split as (

    select
        source.cause,
        source.value_band,
        cast(source.min_order_value as decimal(18, 2)) as min_order_amount,
        cast(source.max_order_value as decimal(18, 2)) as max_order_amount,
        trim(source.first_choice) as first_choice,
        trim({{ dbt.split_part('source.allowed', "';'", 'positions.generated_number') }}) as resolution

    from source
    inner join positions
        on
            positions.generated_number
            <= {{ dbt.length('source.allowed') }}
            - {{ dbt.length(dbt.replace('source.allowed', "';'", "''")) }} + 1

),

renamed as (

    select distinct
        cause,
        value_band,
        min_order_amount,
        max_order_amount,
        first_choice,
        resolution,
        resolution = first_choice as is_first_choice

    from split
    where resolution != ''

)

select * from renamed
