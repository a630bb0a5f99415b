-- Every check of the latest gate run (marts.data_completeness keeps the history): failing ones first.
select
    check_name,
    domain,
    severity,
    passed,
    checked_table,
    observed,
    expected,
    failing_count,
    description
from marts.data_completeness
where run_id = (
    select run_id from marts.data_completeness
    order by as_of desc, run_id desc
    limit 1
)
order by passed, severity, domain, check_name
