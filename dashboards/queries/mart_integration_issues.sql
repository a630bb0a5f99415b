-- Every row of marts.integration_issues (filtered by store and period in the page when it has those columns).
select * from marts.integration_issues
