{#- The business-hours clock of METRICS.md §0/§7 on store-local wall-clock timestamps, in portable SQL.
    Every macro takes rows of `int_fulfilment__business_calendar` (aliases passed in) for the dates involved:
    a calendar row carries `is_business_day` and `business_days_before` (business days strictly before it).
    A local instant x has a business-hour position 24 × business_days_before(date x) + hours since local
    midnight when its date is a business day (else 0); business hours between two instants are the
    difference of their positions. -#}

{#- Hours since local midnight of a wall-clock timestamp (decimal hours). -#}
{% macro hours_into_day(local_ts) -%}
    (cast({{ dbt.datediff(dbt.cast(dbt.date_trunc('day', local_ts), 'timestamp'), local_ts, 'second') }} as double) / 3600.0)
{%- endmacro %}

{#- Business-hour position of a local instant, given its calendar row `cal`. -#}
{% macro business_position(local_ts, cal) -%}
    (
        24.0 * {{ cal }}.business_days_before
        + case when {{ cal }}.is_business_day then {{ hours_into_day(local_ts) }} else 0 end
    )
{%- endmacro %}

{#- Business hours elapsed from `start_ts` to `end_ts` (0 when end is not after start). -#}
{% macro business_hours_between(start_ts, start_cal, end_ts, end_cal) -%}
    greatest(
        {{ business_position(end_ts, end_cal) }} - {{ business_position(start_ts, start_cal) }},
        0
    )
{%- endmacro %}

{#- Index (business_days_before) of the business day holding the deadline `hours` business hours after a start
    at business-hour position `position`: the deadline is the earliest instant, so a whole-day target ends at
    24:00 of the previous business day. -#}
{% macro deadline_day_index(position, hours) -%}
    (cast(ceiling(({{ position }} + {{ hours }}) / 24.0) as integer) - 1)
{%- endmacro %}

{#- The deadline as a local timestamp, given the calendar row `day_cal` of that business day. -#}
{% macro deadline_at(position, hours, day_cal) -%}
    {{ dbt.dateadd(
        'second',
        'cast(round((' ~ position ~ ' + ' ~ hours ~ ' - 24.0 * ' ~ day_cal ~ '.business_days_before) * 3600) as integer)',
        dbt.cast(day_cal ~ '.calendar_date', 'timestamp')
    ) }}
{%- endmacro %}

{#- ISO weekday (Mon = 1 … Sun = 7) of a date. -#}
{% macro iso_weekday(day) -%}
    {{ return(adapter.dispatch('iso_weekday', 'leakwatch')(day)) }}
{%- endmacro %}

{% macro default__iso_weekday(day) -%}
    extract(isodow from {{ day }})
{%- endmacro %}

{% macro spark__iso_weekday(day) -%}
    (dayofweek({{ day }}) + 5) % 7 + 1
{%- endmacro %}

{% macro trino__iso_weekday(day) -%}
    day_of_week({{ day }})
{%- endmacro %}
