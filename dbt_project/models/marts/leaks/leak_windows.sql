-- One row per §4 window (METRICS.md §4): its first and last store-local day at the run's as-of time, as every
-- windowed leak mart (leakage_concentration, fix_candidates) applies it; reports read the dates from here.
with

windows as (

    select * from {{ ref('int_leaks__windows') }}

),

final as (

    select
        time_window,
        window_start,
        window_end,
        {{ as_of_ts() }} as as_of

    from windows

)

select * from final
