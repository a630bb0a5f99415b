-- Every row of marts.payment_performance (filtered by store and period in the page when it has those columns).
select * from marts.payment_performance
