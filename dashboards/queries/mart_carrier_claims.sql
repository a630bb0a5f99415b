-- Parcels eligible for a carrier claim and the claim filed for each, if any (METRICS.md §8), newest first.
select
    tracking_id,
    tracking_number,
    store_id,
    market,
    carrier,
    claim_type,
    period_start,
    claim_window_end_date,
    has_claim,
    is_unfiled_past_window,
    claim_id,
    claim_status,
    filed_date,
    paid_date,
    original_currency,
    original_claimed_amount,
    claimed_amount,
    paid_amount,
    days_to_payment,
    reporting_currency,
    as_of
from marts.carrier_claims
order by period_start desc, store_id, tracking_number
