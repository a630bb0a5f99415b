-- Refund leakage rows (store x local month x cause) of the months from $start to $end, largest cost first.
select
    store_id,
    brand,
    market,
    period_start,
    cause,
    cause_label,
    cause_owner,
    refund_count,
    refund_cost,
    preventable_refund_cost,
    gross_profit,
    refund_cost_pct_of_profit,
    reporting_currency
from marts.refund_leakage_by_cause
where period_start between date_trunc('month', cast($start as date)) and cast($end as date)
order by refund_cost desc, store_id, period_start, cause
