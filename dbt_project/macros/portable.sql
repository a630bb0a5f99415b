{#- Small cross-database helpers not in dbt core; each dispatches per adapter so the models stay portable. -#}

{#- The run's as-of time as a timestamp with time zone (var `as_of`, else now). -#}
{% macro as_of_ts() -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as timestamp with time zone)
    {%- else -%}
        current_timestamp
    {%- endif -%}
{%- endmacro %}

{#- UTC instant → wall-clock timestamp in an IANA zone held in a column. -#}
{% macro to_local(ts, tz) -%}
    {{ return(adapter.dispatch('to_local', 'leakwatch')(ts, tz)) }}
{%- endmacro %}

{% macro default__to_local(ts, tz) -%}
    timezone({{ tz }}, {{ ts }})
{%- endmacro %}

{% macro spark__to_local(ts, tz) -%}
    from_utc_timestamp({{ ts }}, {{ tz }})
{%- endmacro %}

{% macro trino__to_local(ts, tz) -%}
    cast(at_timezone({{ ts }}, {{ tz }}) as timestamp)
{%- endmacro %}

{#- First capture group of a regex, NULL when nothing matches (DuckDB/Spark return '', Trino NULL). -#}
{% macro regex_group(string, pattern, group=1) -%}
    nullif(regexp_extract({{ string }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}

{#- Money: an amount converted and rounded to cents at the grain it is given (METRICS.md §0). -#}
{% macro to_cents(expr) -%}
    cast(round(cast({{ expr }} as decimal(38, 10)), 2) as decimal(18, 2))
{%- endmacro %}

{#- Rate with a NULL (never 0) when the denominator is 0. -#}
{% macro safe_ratio(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0)
{%- endmacro %}

{#- Hash PII before it leaves staging. -#}
{% macro hash_pii(expr) -%}
    {{ dbt.hash("lower(trim(" ~ expr ~ "))") }}
{%- endmacro %}

{#- Every match of a regex (`pattern`, a literal) replaced by `replacement` (an SQL expression without
    back-references: their syntax differs per engine, see regex_escape). DuckDB replaces all only with 'g'. -#}
{% macro regex_replace_all(string, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'leakwatch')(string, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(string, pattern, replacement) -%}
    regexp_replace({{ string }}, '{{ pattern }}', {{ replacement }})
{%- endmacro %}

{% macro duckdb__regex_replace_all(string, pattern, replacement) -%}
    regexp_replace({{ string }}, '{{ pattern }}', {{ replacement }}, 'g')
{%- endmacro %}

{#- A string with leading and trailing white space (line breaks included) removed. -#}
{% macro strip_space(string) -%}
    {{ regex_replace_all(string, '^\\s+|\\s+$', "''") }}
{%- endmacro %}

{#- A string with every regex metacharacter backslash-escaped, so it matches itself literally. -#}
{% macro regex_escape(string) -%}
    {{ return(adapter.dispatch('regex_escape', 'leakwatch')(string)) }}
{%- endmacro %}

{% macro default__regex_escape(string) -%}
    regexp_replace({{ string }}, '([.^$*+?()\[\]{}|\\])', '\\$1')
{%- endmacro %}

{% macro spark__regex_escape(string) -%}
    regexp_replace({{ string }}, '([.^$*+?()\\[\\]{}|\\\\])', '\\\\$1')
{%- endmacro %}

{% macro duckdb__regex_escape(string) -%}
    regexp_replace({{ string }}, '([.^$*+?()\[\]{}|\\])', '\\\1', 'g')
{%- endmacro %}

