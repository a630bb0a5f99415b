-- Portfolio (store_id NULL) monthly KPI values without a dimension, long format, for every month.
select
    period_start,
    metric,
    value
from marts.kpis
where grain = 'month'
  and store_id is null
  and dimension is null
  and metric in (
      'orders_paid',
      'net_revenue',
      'gross_profit',
      'refund_cost',
      'refund_cost_pct_of_profit',
      'preventable_refund_cost',
      'preventable_share',
      'cause_coverage',
      'tagged_share'
  )
order by period_start, metric
