-- Every row of marts.supplier_sla (filtered by store and period in the page when it has those columns).
select * from marts.supplier_sla
