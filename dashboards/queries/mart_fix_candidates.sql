-- The fix candidates of marts.fix_candidates (METRICS.md §4), best first per window, with an estimated saving a
-- month: bringing the slice down to the portfolio leak rate saves its excess_leak over the window, so a month is
-- all of it for last_full_month and 30/90 of it for trailing_90d. The page uses the mart's own
-- estimated_monthly_saving instead when the mart has one.
select
    *,
    case time_window
        when 'last_full_month' then excess_leak
        when 'trailing_90d' then excess_leak * 30 / 90
    end as excess_leak_per_month
from marts.fix_candidates
order by time_window, excess_leak desc, dimension, dimension_value
