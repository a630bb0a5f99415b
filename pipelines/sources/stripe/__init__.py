"""Stripe v1 source: charges, refunds, disputes, balance transactions and payment intents of every account.

Config (`.dlt/config.toml`)::

    [sources.stripe]
    base_url = "https://api.stripe.com"
    accounts = [{brand = "Lumen", account_id = "acct_…"}]

Secrets (`.dlt/secrets.toml` or `SOURCES__STRIPE__API_KEYS='{"lumen": "sk_…"}'`), keyed by lower-case brand::

    [sources.stripe.api_keys]
    lumen = "sk_live_…"

Incremental per account: the first run reads every object; later runs read objects `created` since the last
cursor minus an overlap, then catch late changes to older objects: charges and disputes named by `/v1/events`
since the last event seen (refunds, dispute status changes; Stripe keeps 30 days of events), every dispute still
open at the last run (re-scanned until it closes, whatever the event retention), the charges of new refunds and
disputes and the payment intents of new charges. Those are re-read by id. Rows carry `account_id` and `brand` and
are merged on `id`, so overlaps and repeats never duplicate. The `charge.dispute.*` events themselves are kept
(`dispute_events`): a dispute object does not say when it closed, its `charge.dispute.closed` event does (the first
run keeps the close events Stripe still retains).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common.typing import TDataItem
from dlt.sources.helpers.rest_client import RESTClient

from pipelines.sources import declared_tables
from pipelines.sources.stripe.helpers import ROW_BUILDERS, list_pages, retrieve, stripe_client
from pipelines.sources.stripe.settings import (
    API_BASE_URL,
    BATCH_ROWS,
    CHANGE_EVENT_TYPES,
    DISPUTE_CLOSED_EVENT,
    ENDPOINTS,
    OPEN_DISPUTE_STATUSES,
    OVERLAP_SECONDS,
    TABLE_COLUMNS,
    TABLES,
)

__all__ = ["TABLES", "stripe_source"]


@dlt.source(name="stripe", max_table_nesting=0)
def stripe_source(
    accounts: list[dict[str, str]] = dlt.config.value,
    api_keys: dict[str, str] = dlt.secrets.value,
    base_url: str = API_BASE_URL,
    overlap_seconds: int = OVERLAP_SECONDS,
    max_attempts: int = 5,
    backoff_factor: float = 1.0,
) -> Any:
    """Every configured account (one secret key per brand)."""
    missing = [a["brand"] for a in accounts if a["brand"].lower() not in api_keys]
    if missing:
        raise ValueError(f"no Stripe API key for brand(s) {', '.join(missing)}: "
                         "set sources.stripe.api_keys in .dlt/secrets.toml")
    return stripe_objects(accounts, api_keys, base_url, overlap_seconds, max_attempts, backoff_factor)


@dlt.resource(primary_key="id", write_disposition="merge")
def stripe_objects(accounts: list[dict[str, str]], api_keys: dict[str, str], base_url: str, overlap_seconds: int,
                   max_attempts: int, backoff_factor: float) -> Iterator[TDataItem]:
    """All five object tables of every account; cursors per account live in the resource state.

    One resource fills the five tables because late changes cross them (a refund re-reads its charge, a
    dispute its balance transactions) and one cursor set per account must move together.
    """
    yield from declared_tables(TABLE_COLUMNS)  # every table exists, with or without rows (no dispute yet…)
    hinted: set[str] = set(TABLE_COLUMNS)
    state = dlt.current.resource_state().setdefault("accounts", {})
    for account in accounts:
        client = stripe_client(base_url, api_keys[account["brand"].lower()], max_attempts, backoff_factor)
        sync = AccountSync(client, account, state.setdefault(account["account_id"], {}), overlap_seconds, hinted)
        yield from sync.run()


def _hinted(table: str, rows: list[dict[str, Any]], hinted: set[str]) -> TDataItem:
    """Rows routed to `table`; the table's hints (columns, key, merge) travel with its first batch only (applying
    them on every page cost more than the HTTP round trips)."""
    if table in hinted:
        return dlt.mark.with_table_name(rows, table)
    hinted.add(table)
    return dlt.mark.with_hints(rows, dlt.mark.make_hints(table_name=table, columns=TABLE_COLUMNS[table],
                                                         primary_key="id", write_disposition="merge"))


class AccountSync:
    """One account's extraction: created-window lists, then late changes re-read by id."""

    def __init__(self, client: RESTClient, account: dict[str, str], state: dict[str, Any], overlap: int,
                 hinted: set[str]):
        self.client = client
        self.hinted = hinted
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        self.account = {"account_id": account["account_id"], "brand": account["brand"]}
        self.state = state
        self.overlap = overlap
        self.seen: dict[str, set[str]] = {table: set() for table in TABLES}
        self.open_disputes: set[str] = set()
        self.follow_up: dict[str, set[str]] = {"charges": set(), "disputes": set(), "payment_intents": set()}
        self.dispute_events: list[dict[str, Any]] = []

    def run(self) -> Iterator[TDataItem]:
        cursors: dict[str, int] = self.state.setdefault("created", {})
        first_run = not cursors
        for table, path in ENDPOINTS.items():
            params: dict[str, Any] = {}
            if table in cursors:
                params["created[gte]"] = cursors[table] - self.overlap
            if table == "disputes":
                params["expand[]"] = ["data.balance_transactions"]
            for page in list_pages(self.client, path, params):
                yield from self._emit(table, page)
                if page:
                    cursors[table] = max(cursors.get(table, 0), *(obj["created"] for obj in page))
        self._scan_events(first_run)
        yield from self._emit("dispute_events", self.dispute_events)
        self.follow_up["disputes"] |= set(self.state.get("open_disputes", []))
        for table, ids in self.follow_up.items():
            expand = ("balance_transactions",) if table == "disputes" else ()
            for object_id in sorted(ids - self.seen[table]):
                obj = retrieve(self.client, ENDPOINTS[table], object_id, expand)
                if obj is not None:
                    yield from self._emit(table, [obj])
        for table, rows in self.buffers.items():
            if rows:
                yield _hinted(table, rows, self.hinted)
        self.buffers = {}
        self.state["open_disputes"] = sorted(self.open_disputes)

    def _emit(self, table: str, objects: list[dict[str, Any]]) -> Iterator[TDataItem]:
        """Rows of the objects not emitted yet in this run (pages that overlap never repeat a row), handed to dlt
        in batches of BATCH_ROWS per table (dlt's per-batch table bookkeeping outweighed small pages)."""
        build = ROW_BUILDERS[table]
        rows = []
        nested: list[dict[str, Any]] = []
        for obj in objects:
            if obj["id"] in self.seen[table]:
                continue
            self.seen[table].add(obj["id"])
            rows.append(build(obj, self.account))
            self._note(table, obj, nested)
        if rows:
            buffer = self.buffers.setdefault(table, [])
            buffer.extend(rows)
            if len(buffer) >= BATCH_ROWS:
                yield _hinted(table, buffer, self.hinted)
                self.buffers[table] = []
        if nested:
            yield from self._emit("balance_transactions", nested)

    def _note(self, table: str, obj: dict[str, Any], nested: list[dict[str, Any]]) -> None:
        """Remember what a fresh object implies for older ones (its charge, its payment intent, open state)."""
        if table in ("refunds", "disputes") and isinstance(obj.get("charge"), str):
            self.follow_up["charges"].add(obj["charge"])
        if table == "charges" and isinstance(obj.get("payment_intent"), str):
            self.follow_up["payment_intents"].add(obj["payment_intent"])
        if table == "disputes":
            nested.extend(b for b in obj.get("balance_transactions") or [] if isinstance(b, dict))
            if obj.get("status") in OPEN_DISPUTE_STATUSES:
                self.open_disputes.add(obj["id"])

    def _scan_events(self, first_run: bool) -> None:
        """Charges and disputes changed since the last event seen (first run: only note the newest event)."""
        cursor = self.state.get("events_created")
        if first_run or cursor is None:
            response = self.client.get("/v1/events", params={"limit": 1})
            response.raise_for_status()
            newest = response.json().get("data") or []
            self.state["events_created"] = newest[0]["created"] if newest else cursor
            # when disputes closed is only told by events: keep every close Stripe still has (30 days)
            for page in list_pages(self.client, "/v1/events", {"types[]": [DISPUTE_CLOSED_EVENT]}):
                self.dispute_events.extend(page)
            return
        params = {"created[gte]": cursor - self.overlap, "types[]": list(CHANGE_EVENT_TYPES)}
        for page in list_pages(self.client, "/v1/events", params):
            for event in page:
                cursor = max(cursor, event["created"])
                obj = event.get("data", {}).get("object") or {}
                if obj.get("object") == "charge":
                    self.follow_up["charges"].add(obj["id"])
                elif obj.get("object") == "dispute":
                    self.follow_up["disputes"].add(obj["id"])
                    self.dispute_events.append(event)
        self.state["events_created"] = cursor
