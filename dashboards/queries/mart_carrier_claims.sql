-- Every row of marts.carrier_claims (filtered by store and period in the page when it has those columns).
select * from marts.carrier_claims
