-- Every row of marts.support_quality (filtered by store and period in the page when it has those columns).
select * from marts.support_quality
