-- Every row of marts.carrier_performance (filtered by store and period in the page when it has those columns).
select * from marts.carrier_performance
