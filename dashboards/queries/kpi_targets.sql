-- KPI targets; direction 'max' means the value must stay at or below the target, 'min' at or above.
select
    metric,
    target,
    direction
from marts.kpi_targets
order by metric
