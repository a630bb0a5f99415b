-- The reporting currency that the money columns of the marts are converted to (the most recent one seen).
select reporting_currency
from marts.refund_leakage_by_cause
where reporting_currency is not null
order by as_of desc, period_start desc
limit 1
