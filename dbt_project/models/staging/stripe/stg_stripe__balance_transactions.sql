{{
    config(
        materialized='incremental',
        unique_key='balance_transaction_id',
    )
}}

with

source as (

    select * from {{ source('raw_stripe', 'balance_transactions') }}
    {{ loaded_since_last_build() }}

),

renamed as (

    select
        id as balance_transaction_id,
        account_id,
        brand,
        cast(created as timestamp with time zone) as created_at,
        cast(available_on as timestamp with time zone) as available_on,
        cast(amount as bigint) as amount_cents,
        cast(fee as bigint) as fee_cents,
        cast(net as bigint) as net_cents,
        cast(cast(amount as decimal(18, 2)) / 100 as decimal(18, 2)) as amount,
        cast(cast(fee as decimal(18, 2)) / 100 as decimal(18, 2)) as fee,
        upper(currency) as currency,
        status,
        type as transaction_type,
        reporting_category,
        source as source_id,
        case when source like 'ch\_%' escape '\' then source end as charge_id,
        case when source like 're\_%' escape '\' then source end as refund_id,
        case when source like 'du\_%' escape '\' then source end as dispute_id,
        description,
        _dlt_load_id as loaded_by

    from source

)

select * from renamed
