-- KPI rows (any grain and dimension) of the listed metrics, for the portfolio ($all_stores) or the listed stores.
select
    store_id,
    period_start,
    grain,
    metric,
    dimension,
    dimension_value,
    value,
    as_of
from marts.kpis
where list_contains(cast($metrics as varchar []), metric)
  and (
      (cast($all_stores as boolean) and store_id is null)
      or (not cast($all_stores as boolean) and list_contains(cast($store_ids as varchar []), store_id))
  )
order by period_start, metric, store_id
