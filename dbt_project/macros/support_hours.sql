{#- Support business-hours clock (METRICS.md §9, support.md rule 3): time on Monday–Friday between a daily
    start and end hour of local wall-clock time, no holidays.

    `business_hours_since_epoch(local_ts, start_hour, end_hour)` is a running clock: the business hours from
    Monday 1970-01-05 00:00 (local) to `local_ts`. Business hours between two local wall-clock times are the
    difference of the clock at both ends, so no day spine is needed and weekends and nights cost nothing.
    `start_hour` / `end_hour` are decimal hours of the day (08:30 → 8.5); `local_ts` is a timestamp without
    time zone (use `to_local`). -#}
{% macro business_hours_since_epoch(local_ts, start_hour, end_hour) -%}
    {%- set days -%}{{ dbt.datediff("cast('1970-01-05' as date)", "cast(" ~ local_ts ~ " as date)", "day") }}{%- endset -%}
    {%- set hour_of_day -%}
        ({{ dbt.datediff("cast(cast(" ~ local_ts ~ " as date) as timestamp)", local_ts, "microsecond") }} / 3600000000.0)
    {%- endset -%}
    (
        floor({{ days }} / 7) * 5 * ({{ end_hour }} - {{ start_hour }})
        + least({{ days }} - floor({{ days }} / 7) * 7, 5) * ({{ end_hour }} - {{ start_hour }})
        + case
            when {{ days }} - floor({{ days }} / 7) * 7 < 5
                then greatest(least({{ hour_of_day }}, {{ end_hour }}) - {{ start_hour }}, 0)
            else 0
        end
    )
{%- endmacro %}

{#- Support business hours from `start_ts` to `end_ts` (UTC instants) in zone `tz`; 0 when end <= start. -#}
{% macro support_business_hours(start_ts, end_ts, tz, start_hour, end_hour) -%}
    greatest(
        {{ business_hours_since_epoch(to_local(end_ts, tz), start_hour, end_hour) }}
        - {{ business_hours_since_epoch(to_local(start_ts, tz), start_hour, end_hour) }},
        0
    )
{%- endmacro %}

{#- True when `string` matches the RE2 `pattern` in full. -#}
{% macro regex_full_match(string, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'leakwatch')(string, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(string, pattern) -%}
    regexp_like({{ string }}, '^(?:' || {{ pattern }} || ')$')
{%- endmacro %}

{% macro duckdb__regex_full_match(string, pattern) -%}
    regexp_full_match({{ string }}, {{ pattern }})
{%- endmacro %}
