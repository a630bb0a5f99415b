-- Paid orders and the 48 h shipping SLA (METRICS.md §7), newest first; the page filters store and month.
select
    order_id,
    store_id,
    order_name,
    period_start,
    paid_at,
    clock_start_local,
    deadline_local,
    first_shipped_at,
    shipped_at,
    is_shipped_within_48h,
    is_sla_decided,
    as_of
from marts.orders_sla
order by paid_at desc, store_id, order_name
