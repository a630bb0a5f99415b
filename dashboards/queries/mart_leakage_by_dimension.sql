-- Every row of marts.leakage_by_dimension (filtered by store and period in the page when it has those columns).
select * from marts.leakage_by_dimension
