-- Stores in the portfolio.
select
    store_id,
    brand,
    market,
    currency,
    timezone
from marts.stores
order by store_id
