-- The as-of time of the run that built the published marts.
select max(as_of) as as_of from marts.kpis
