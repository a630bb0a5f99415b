-- The published marts with their row and column counts.
select
    table_name,
    estimated_size as row_count,
    column_count
from duckdb_tables()
where schema_name = 'marts'
order by table_name
