-- Targets the dashboard and reports compare KPIs against (ops sheet `kpi_targets`).
with

targets as (

    select * from {{ ref('stg_sheets__kpi_targets') }}

),

final as (

    select
        metric,
        target,
        direction

    from targets

)

select * from final
