-- Every row of marts.orders_sla (filtered by store and period in the page when it has those columns).
select * from marts.orders_sla
