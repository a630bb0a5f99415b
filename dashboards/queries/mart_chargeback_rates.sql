-- Every row of marts.chargeback_rates (filtered by store and period in the page when it has those columns).
select * from marts.chargeback_rates
