"""Models stay portable (issue 7: they must later run on Spark or Trino): DuckDB-only syntax lives in macros only
(dbt's cross-database macros, or dbt_project/macros/* with adapter.dispatch), never in dbt_project/models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"

# construct → regex over a model's SQL with comments and Jinja removed (a column named `timezone` is fine)
DUCKDB_ONLY = {
    "`::` cast": r"::",
    "strftime / strptime": r"\bstr[fp]time\s*\(",
    "list functions": r"\blist(_\w+)?\s*\(",
    "regexp_* functions (use regex_group / regex_replace_all / regex_full_match …)": r"\bregexp_\w+\s*\(",
    "epoch functions": r"\bepoch\w*\s*\(",
    "raw date functions (use dbt.dateadd / datediff / date_trunc)":
        r"(?<![.\w])(date_diff|datediff|date_sub|date_add|dateadd|date_part|datepart|date_trunc|datetrunc"
        r"|last_day|make_date|make_timestamp|dayofweek|isodow)\s*\(",
    "quantile / median / mode": r"\b(quantile\w*|median|mode)\s*\(",
    "qualify": r"\bqualify\b",
    "struct": r"\bstruct\w*\s*\(|\{",  # Jinja is removed first: a brace left is a struct literal
    "`->` / `->>` (JSON, lambdas)": r"->",
    "interval literal (use dbt.dateadd)": r"\binterval\b",
    "ilike": r"\bilike\b",
    "string_agg / group_concat (use dbt.listagg)": r"\b(string_agg|group_concat)\s*\(",
    "select * exclude / replace / columns()": r"\*\s*(exclude|replace)\b|\bcolumns\s*\(",
    "group by all / order by all": r"\bby\s+all\b",
    "DuckDB aggregates": r"\b(count_if|arg_max|arg_min|argmax|argmin|any_value|first|last)\s*\(",
    "table functions": r"\b(generate_series|range|unnest|read_\w+)\s*\(",
    "DuckDB types": r"\b(timestamptz|hugeint|ubigint|uinteger|usmallint|utinyint)\b",
    "string functions (use dbt.split_part / position …)":
        r"\b(strpos|instr|starts_with|str_split|string_split|split_part|printf|format|strlen|len)\s*\(",
    "time zone functions (use to_local)": r"\btimezone\s*\(|\bat\s+time\s+zone\b",
    "hash functions (use hash_pii / dbt.hash)": r"\b(md5|sha256|hash)\s*\(",
}


def plain_sql(text: str) -> str:
    """The SQL a reader sees, minus comments and Jinja (macro calls are portable by construction); line numbers
    are kept."""
    def blank(match: re.Match) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    for pattern in (r"\{#.*?#\}", r"\{\{.*?\}\}", r"\{%.*?%\}", r"--[^\n]*", r"/\*.*?\*/"):
        text = re.sub(pattern, blank, text, flags=re.S)
    return re.sub(r"'(?:[^']|'')*'", blank, text)  # string literals: their content is data, not syntax


def duckdb_only(text: str) -> list[tuple[int, str, str]]:
    """(line, construct, line text) of every DuckDB-only construct in a model's SQL."""
    sql = plain_sql(text)
    lines = text.splitlines()
    found = []
    for construct, pattern in DUCKDB_ONLY.items():
        for match in re.finditer(pattern, sql, flags=re.I):
            line = sql.count("\n", 0, match.start()) + 1
            found.append((line, construct, lines[line - 1].strip()))
    return found


def test_models_use_no_duckdb_only_syntax() -> None:
    models = sorted(MODELS.rglob("*.sql"))
    assert len(models) > 50, f"expected the dbt models under {MODELS}"
    problems = [f"{path.relative_to(MODELS.parents[1])}:{line}: {construct}: {code}"
                for path in models for line, construct, code in duckdb_only(path.read_text())]
    assert not problems, ("DuckDB-only SQL in models (route it through a dbt cross-db macro or a dispatched macro "
                          "in dbt_project/macros):\n" + "\n".join(problems))


@pytest.mark.parametrize("sql", [
    "select amount::decimal(18, 2) from t",
    "select strftime(created_at, '%Y') from t",
    "select list_sum(x) from t",
    "select regexp_replace(body, '^\\s+', '', 'g') from t",
    "select epoch(created_at) from t",
    "select date_diff('day', a, b) from t",
    "select quantile_cont(x, 0.5) from t",
    "select * from t qualify row_number() over () = 1",
    "select {'a': 1} as s",
    "select payload ->> 'id' from t",
    "select created_at - interval 1 day from t",
    "select * exclude (email) from t",
    "select store_id, count(*) from t group by all",
    "select arg_max(x, y) from t",
    "select * from range(10)",
    "select cast(x as timestamptz) from t",
    "select split_part(tags, ',', 1) from t",
    "select timezone('UTC', created_at) from t",
    "select md5(email) from t",
])
def test_the_check_finds_each_construct(sql: str) -> None:
    assert duckdb_only(sql), f"not detected: {sql}"


def test_the_check_ignores_macros_comments_strings_and_columns() -> None:
    sql = """-- date_trunc(month) via the macro: epoch(x)
    select
        {{ dbt.date_trunc('month', 'local_date') }} as period_start,
        {{ regex_group('note', 'cause:([a-z]+)') }} as cause,
        stores.timezone,
        'list_of::things' as label
    from stores"""
    assert duckdb_only(sql) == []
