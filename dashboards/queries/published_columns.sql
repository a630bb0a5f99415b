-- The published marts and their columns, in table order (which pages and tables can be shown).
select
    table_name,
    column_name,
    data_type
from information_schema.columns
where table_schema = 'marts'
order by table_name, ordinal_position
