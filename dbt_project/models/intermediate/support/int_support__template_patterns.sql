-- One row per response template with its body as a full-match RE2 pattern (support.md metric rule 8):
-- the stripped body escaped literally, each placeholder (in double braces) a run of one or more characters
-- other than a line break.
with

templates as (

    select * from {{ ref('stg_reamaze__response_templates') }}

),

placeholders_marked as (

    select
        template_id,
        brand,
        -- strip surrounding whitespace, then mark each placeholder with a control character
        {{ regex_replace_all(strip_space('template_body'), '\\{\\{[^{}]*\\}\\}', 'chr(1)') }} as marked_body

    from templates

),

patterns as (

    select
        template_id,
        brand,
        replace({{ regex_escape('marked_body') }}, chr(1), '[^\n]+') as body_pattern

    from placeholders_marked

)

select * from patterns
