-- Refund leakage rows (store x local month x cause) for one month, optionally one store, largest cost first.
-- $store_id NULL means every store.
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
    reporting_currency,
    as_of
from marts.refund_leakage_by_cause
where period_start = $period_start
  and (cast($store_id as varchar) is null or store_id = $store_id)
order by refund_cost desc, store_id, cause
