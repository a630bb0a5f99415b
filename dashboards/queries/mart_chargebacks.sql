-- Every row of marts.chargebacks (filtered by store and period in the page when it has those columns).
select * from marts.chargebacks
