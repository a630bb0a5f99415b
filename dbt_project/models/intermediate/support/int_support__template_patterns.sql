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
        regexp_replace(
            regexp_replace(template_body, '^\s+|\s+$', '', 'g'),
            '\{\{[^{}]*\}\}', chr(1), 'g'
        ) as marked_body

    from templates

),

patterns as (

    select
        template_id,
        brand,
        replace(
            regexp_replace(marked_body, '([.^$*+?()\[\]{}|\\])', '\\\1', 'g'),
            chr(1), '[^\n]+'
        ) as body_pattern

    from placeholders_marked

)

select * from patterns
