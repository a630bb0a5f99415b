"""Re:amaze v1 source: conversations, messages, staff, contacts and response templates of every brand.

Config (`.dlt/config.toml`)::

    [sources.reamaze]
    brands = [{brand = "lumen", base_url = "https://lumen.reamaze.io", login_email = "ops@lumen.example.com"}]

Secrets (`.dlt/secrets.toml`)::

    [sources.reamaze.api_tokens]
    lumen = "…"

Every row carries `brand`. Incremental reads (per brand, state in the resource state):
- messages: `start_date` = newest message seen by the last run minus the lookback;
- conversations: the API has no `updated_at`, so they are read in `sort=changed` order (newest change first)
  and the walk stops at the first conversation that provably did not change since the last run: created
  before the window, no message in the window, no newer customer message, and (when it was in the inbox last
  time) the same status. Everything after it changed even earlier, so it is unchanged too;
- contacts: newest first, until a page holds a contact already loaded (contacts never change in the API).
Staff and response templates are short lists read in full. Rows read twice are merged on their keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common.typing import TDataItem

from pipelines.sources import declared_tables
from pipelines.sources.reamaze.helpers import (
    brand_client,
    contact_row,
    conversation_row,
    message_row,
    pages,
    parse_time,
    staff_row,
    template_row,
    window_start,
)
from pipelines.sources.reamaze.settings import LOOKBACK_SECONDS, PRIMARY_KEYS, TABLE_COLUMNS, UNARCHIVED_STATUSES

TABLES = tuple(TABLE_COLUMNS)


def _hinted(rows: list[TDataItem], table: str) -> Any:
    return dlt.mark.with_hints(rows, dlt.mark.make_hints(
        table_name=table, columns=TABLE_COLUMNS[table], primary_key=list(PRIMARY_KEYS[table]),
        write_disposition="merge"), create_table_variant=True)


@dlt.source(name="reamaze", max_table_nesting=0)
def reamaze_source(
    brands: list[dict[str, str]] = dlt.config.value,
    api_tokens: dict[str, str] = dlt.secrets.value,
    lookback_seconds: int = LOOKBACK_SECONDS,
) -> Any:
    """All configured brands (`brand`, `base_url`, `login_email`; the token from `api_tokens[brand]`)."""
    missing = [b["brand"] for b in brands if b["brand"] not in api_tokens]
    if missing:
        raise ValueError(f"no Re:amaze API token for brand(s) {', '.join(missing)}: "
                         "set sources.reamaze.api_tokens in .dlt/secrets.toml")
    clients = {b["brand"]: brand_client(b["base_url"], b["login_email"], api_tokens[b["brand"]]) for b in brands}
    return (
        conversations(clients, lookback_seconds),
        contacts(clients),
        dlt.resource(_full_list(clients, "staff", staff_row), name="staff", **_merge("staff")),
        dlt.resource(_full_list(clients, "response_templates", template_row), name="response_templates",
                     **_merge("response_templates")),
    )


def _declared(*tables: str) -> Iterator[Any]:
    """The tables a resource fills, created even when no row reaches them."""
    return declared_tables({table: TABLE_COLUMNS[table] for table in tables},
                           {table: list(PRIMARY_KEYS[table]) for table in tables})


def _merge(table: str) -> dict[str, Any]:
    return {"write_disposition": "merge", "primary_key": list(PRIMARY_KEYS[table]), "columns": TABLE_COLUMNS[table]}


def _full_list(clients: dict[str, Any], resource: str, shape: Any) -> Any:
    def rows() -> Iterator[TDataItem]:
        yield from _declared(resource)
        for brand, client in clients.items():
            for page in pages(client, resource, resource):
                yield [shape(item, brand) for item in page]
    return rows


@dlt.resource(name="conversations", write_disposition="merge")
def conversations(clients: dict[str, Any], lookback_seconds: int) -> Iterator[TDataItem]:
    """Messages of the window, then the conversations that changed (tables `messages` and `conversations`)."""
    yield from _declared("messages", "conversations")
    state = dlt.current.resource_state()
    cursors: dict[str, str] = state.setdefault("message_cursor_by_brand", {})
    inbox: dict[str, dict[str, int]] = state.setdefault("inbox_status_by_brand", {})
    for brand, client in clients.items():
        cursor = cursors.get(brand)
        since = window_start(cursor, lookback_seconds) if cursor else None
        active: set[str] = set()
        newest = cursor
        params = {"start_date": since} if since else {}
        for page in pages(client, "messages", "messages", params):
            rows = [message_row(item, brand) for item in page]
            for item, row in zip(page, rows, strict=True):
                active.add(row["conversation_slug"])
                newest = max(newest or item["created_at"], item["created_at"])
            if rows:
                yield _hinted(rows, "messages")
        brand_inbox = inbox.setdefault(brand, {})
        for page in pages(client, "conversations", "conversations", {"filter": "all", "sort": "changed"}):
            rows = [conversation_row(item, brand) for item in page]
            if rows:
                yield _hinted(rows, "conversations")
            stop = since is not None and any(
                not _changed(row, since, active, brand_inbox) for row in rows)
            for row in rows:
                if row["status"] in UNARCHIVED_STATUSES:
                    brand_inbox[row["slug"]] = row["status"]
                else:
                    brand_inbox.pop(row["slug"], None)
            if stop:
                break
        if newest:
            cursors[brand] = newest


def _changed(row: dict[str, Any], since: str, active: set[str], inbox: dict[str, int]) -> bool:
    """True when the conversation may have changed since the window start (so the walk must go on)."""
    window = parse_time(since)
    last_customer = row["last_customer_message_at"]
    return (
        row["created_at"] >= window
        or row["slug"] in active
        or (last_customer is not None and last_customer >= window)
        or inbox.get(row["slug"], row["status"]) != row["status"]
        or (row["status"] in UNARCHIVED_STATUSES and row["slug"] not in inbox)
    )


@dlt.resource(name="contacts", **_merge("contacts"))
def contacts(clients: dict[str, Any]) -> Iterator[TDataItem]:
    """Contacts newest first, until a page reaches one loaded before (the rest of that page is the overlap)."""
    yield from _declared("contacts")
    newest_by_brand: dict[str, int] = dlt.current.resource_state().setdefault("newest_id_by_brand", {})
    for brand, client in clients.items():
        known = newest_by_brand.get(brand)
        newest = known
        for page in pages(client, "contacts", "contacts"):
            rows = [contact_row(item, brand) for item in page]
            if rows:
                yield rows
                newest = max(newest or 0, *(row["id"] for row in rows))
            if known is not None and any(row["id"] <= known for row in rows):
                break
        if newest is not None:
            newest_by_brand[brand] = newest
