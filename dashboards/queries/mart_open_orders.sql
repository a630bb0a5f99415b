-- Open orders (paid, not cancelled, not fully shipped at the run's as-of time), oldest first (METRICS.md §7).
select
    order_id,
    store_id,
    order_name,
    paid_at,
    clock_start_local,
    first_shipped_at,
    open_age_business_hours,
    aging_bucket,
    is_over_48h,
    as_of
from marts.open_orders
order by open_age_business_hours desc, store_id, order_name
