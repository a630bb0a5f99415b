{#- Amounts converted to the reporting currency and summed (METRICS.md §0: each amount converted at the daily
    rate of its date and rounded to cents, then summed). `amounts`: a relation with `key`, `component`, `amount`,
    `currency`, `rate_date`; `fx`: int_fx__daily_rates. One row per key × component with `amount_local` (the
    amounts' plain sum) and `amount_reporting`. -#}
{% macro sum_in_reporting_currency(amounts, key, fx='fx') -%}
    select
        {{ amounts }}.{{ key }},
        {{ amounts }}.component,
        sum({{ amounts }}.amount) as amount_local,
        sum({{ to_cents(amounts ~ '.amount * ' ~ fx ~ '.rate_to_reporting') }}) as amount_reporting

    from {{ amounts }}
    left join {{ fx }}
        on
            {{ amounts }}.currency = {{ fx }}.currency
            and {{ amounts }}.rate_date = {{ fx }}.rate_date
    group by {{ amounts }}.{{ key }}, {{ amounts }}.component
{%- endmacro %}
