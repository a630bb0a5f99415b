{#- Incremental staging over the raw (dlt) tables.

    dlt merges every raw row it extracts again (the sources re-read what changed since their cursor minus a
    look-back, pipelines/sources/*/settings.py) and stamps it with the load's `_dlt_load_id` (the load's start
    time in epoch seconds). So the raw rows an incremental model must (re)build are the ones loaded since the
    newest load it already holds; var `incremental_lookback_seconds` (= the extraction's look-back) re-reads the
    loads of that last stretch again, so a load committed after one that started later is never skipped.
    Models keep the load id as `loaded_by`; `--full-refresh` (or DBT_FULL_REFRESH=true) rebuilds them. -#}

{#- `where` clause (empty on a full build) keeping the rows whose `load_id` is newer than this model's newest
    `loaded_by` minus the look-back (with no look-back: only loads the model has not seen). -#}
{% macro loaded_since_last_build(load_id='_dlt_load_id') -%}
    {%- if is_incremental() %}
    where
        cast({{ load_id }} as decimal(20, 6))
        > (
            select coalesce(max(cast(built.loaded_by as decimal(20, 6))), 0)
            from {{ this }} as built
        ) - {{ var('incremental_lookback_seconds') }}
    {%- endif %}
{%- endmacro %}
