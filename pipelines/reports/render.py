"""A report's Markdown → HTML, the files in var/reports/, and the e-mail."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from markdown_it import MarkdownIt

from pipelines.alerts import AlertConfig, Scrubber, send_email

log = logging.getLogger(__name__)

STYLE = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: 860px; margin: 2em auto;
       color: #1f2933; line-height: 1.45; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border-bottom: 1px solid #d9e2ec; padding: 4px 10px; text-align: left; }
td:not(:first-child), th:not(:first-child) { text-align: right; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
"""


@dataclass
class Report:
    kind: str  # daily | weekly | monthly
    title: str
    period: date
    markdown: str
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return f"{self.kind}-{self.period.isoformat()}"


def query(serving: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    """One short read-only query on the published DB (never a held connection: the next publish replaces it)."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def has_table(serving: Path, schema: str, table: str) -> bool:
    found = query(serving, "select count(*) as n from duckdb_tables() where schema_name = ? and table_name = ?",
                  [schema, table])
    return bool(found["n"].iloc[0])


def markdown_table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """A GitHub-style table; `formats` maps a column to a format spec (e.g. ',.2f', '.1%')."""
    if frame.empty:
        return "_none_\n"
    formats = formats or {}

    def cell(column: str, value: Any) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return "–"
        spec = formats.get(column)
        text = format(value, spec) if spec else str(value)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(c, v) for c, v in zip(frame.columns, row, strict=True)) + " |")
    return "\n".join(lines) + "\n"


def to_html(report: Report) -> str:
    body = MarkdownIt("commonmark").enable("table").render(report.markdown)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(report.title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")


def write(report: Report, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out_dir / f"{report.stem}.md", out_dir / f"{report.stem}.html"
    md_path.write_text(report.markdown)
    html_path.write_text(to_html(report))
    return md_path, html_path


def email(report: Report, config: AlertConfig | None = None) -> str:
    """E-mail the report when SMTP is configured; returns 'sent', 'off' or 'failed: …' (never raises)."""
    config = config or AlertConfig.from_env()
    if not config.email_enabled:
        return "off"
    scrub = Scrubber.from_config(config).text
    try:
        send_email(config, scrub(report.title), scrub(report.markdown), scrub(to_html(report)))
    except Exception as exc:  # noqa: BLE001 - a mail problem must not fail the report asset
        reason = scrub(f"{type(exc).__name__}: {exc}")
        log.warning("report e-mail failed: %s", reason)
        return f"failed: {reason}"
    return "sent"
