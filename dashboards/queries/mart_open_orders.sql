-- Every row of marts.open_orders (filtered by store and period in the page when it has those columns).
select * from marts.open_orders
