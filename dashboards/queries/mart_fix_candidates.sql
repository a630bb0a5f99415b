-- Every row of marts.fix_candidates (filtered by store and period in the page when it has those columns).
select * from marts.fix_candidates
