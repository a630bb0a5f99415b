{#- Rows that share the same values in all of `columns` (dbt packages cannot be fetched here, so no dbt_utils). -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
