-- Parcels with carrier, transit days and on-time outcome (METRICS.md §7), newest delivery first.
select
    tracking_id,
    tracking_number,
    store_id,
    market,
    carrier,
    service,
    tag,
    pickup_date,
    delivery_date,
    promised_date,
    transit_days,
    is_on_time,
    delivery_period_start,
    as_of
from marts.carrier_performance
order by delivery_period_start desc nulls first, store_id, tracking_number
