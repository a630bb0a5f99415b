-- Leak cost per slice of every dimension and window of marts.leakage_concentration (METRICS.md §4), largest first.
-- The windows are fixed by the mart (last full month, trailing 90 days); the page picks one window and dimension.
select
    time_window,
    dimension,
    dimension_value,
    leak_cost,
    preventable_leak_cost,
    revenue,
    leak_rate,
    share,
    pareto_rank,
    cumulative_share,
    portfolio_leak_rate
from marts.leakage_concentration
order by time_window, dimension, pareto_rank
