{#- Every match of a regex's first capture group in a string, as a one-column relation to cross join
    (`<relation> as alias` then `alias.<column>`); no row when nothing matches. -#}
{% macro regex_matches(string, pattern, column) -%}
    {{ return(adapter.dispatch('regex_matches', 'leakwatch')(string, pattern, column)) }}
{%- endmacro %}

{% macro default__regex_matches(string, pattern, column) -%}
    (select unnest(regexp_extract_all({{ string }}, '{{ pattern }}', 1)) as {{ column }})
{%- endmacro %}

{% macro spark__regex_matches(string, pattern, column) -%}
    (select explode(regexp_extract_all({{ string }}, '{{ pattern }}', 1)) as {{ column }})
{%- endmacro %}
