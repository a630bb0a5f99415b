-- Supplier-fulfilled order lines and their dispatch and transit SLA outcomes (METRICS.md §7), newest first.
select
    order_line_id,
    order_id,
    store_id,
    supplier_id,
    market,
    tracking_id,
    period_start,
    dispatch_deadline_local,
    fulfilled_local,
    pickup_date,
    delivery_date,
    transit_sla_days,
    is_dispatch_on_time,
    is_transit_on_time,
    as_of
from marts.supplier_sla
order by period_start desc, store_id, order_line_id
