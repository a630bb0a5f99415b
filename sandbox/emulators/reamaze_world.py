"""The support world as the Re:amaze emulator serves it: per brand, at the clock, indexed and pre-rendered.

`ReamazeWorld.load(world_dir)` reads the world (`sandbox.world.load_world`), takes its state at the clock
`meta.as_of` with `sandbox.world.world_at` (the support area's `at_clock`), and builds one `BrandData` per brand:
every conversation, message, contact, staff user and response template rendered once to JSON bytes with the
renderers of `sandbox.world.support` (`api_conversation`, `api_message`, `api_contact`, `api_staff`), plus numpy
columns and sort orders so that a list request only selects positions and joins bytes.

Brand handle (the `{brand}` of the URL path): the support tables' `brand` lower-cased (`Lumen` -> `lumen`), the
same word as the brand's staff e-mail domain and API tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from sandbox.world import load_world, world_at
from sandbox.world.support import _iso, api_contact, api_conversation, api_message, api_staff

Record = dict[str, Any]
NO_ID = -1
# Statuses that take a conversation out of the inbox (the default list): Resolved, Spam, Archived,
# Auto-resolved and Chatbot resolved. `filter=archived` lists exactly these; the default list the others.
ARCHIVED_STATUSES = (2, 3, 4, 6, 8)
OPEN_STATUSES = (0,)
SELECTION_CACHE_SIZE = 256
# the message columns the renderers read
MESSAGE_FIELDS = ["conversation_slug", "body", "created_at", "visibility", "origin_id", "user_name", "user_email",
                  "user_is_staff"]


# worlds without the leaks area have no Re:amaze internal notes
_NO_NOTES = pd.DataFrame({"brand": pd.Series(dtype=object), "conversation_slug": pd.Series(dtype=object)})


def brand_handle(brand: str) -> str:
    """The URL handle of a brand of the support tables (`Lumen` -> `lumen`)."""
    return brand.lower()


def _us(series: pd.Series) -> np.ndarray:
    """tz-aware timestamps -> int64 epoch microseconds (NaT -> int64 min)."""
    values = pd.to_datetime(series, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return values.view(np.int64).copy()


def _ids(series: pd.Series) -> np.ndarray:
    """A nullable id column as int64 with `NO_ID` for missing."""
    return series.astype("Int64").fillna(NO_ID).to_numpy(dtype=np.int64)


def _dump(obj: Any) -> bytes:
    """JSON bytes (numpy scalars allowed)."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)


def _desc_order(key: np.ndarray) -> np.ndarray:
    """Positions sorted by `key` descending, ties by position descending (deterministic)."""
    return np.lexsort((np.arange(len(key)), key))[::-1].copy()


@dataclass(frozen=True)
class ConversationQuery:
    """A parsed `GET /conversations` request (everything but the page)."""

    filter: str | None = None
    for_email: str | None = None
    for_id: int | None = None
    sort: str | None = None
    tags: tuple[str, ...] = ()
    category: str | None = None
    start_us: int | None = None
    end_us: int | None = None


@dataclass(frozen=True)
class MessageQuery:
    """A parsed `GET /messages` or `GET /conversations/{slug}/messages` request (everything but the page)."""

    filter: str | None = None
    start_us: int | None = None
    end_us: int | None = None


@dataclass
class Conversations:
    """The conversations of one brand at the clock: columns by position, sort orders and rendered JSON."""

    slugs: list[str]
    created_us: np.ndarray
    customer_us: np.ndarray
    changed_us: np.ndarray
    status: np.ndarray
    category: np.ndarray
    tags: list[frozenset[str]]
    author_id: np.ndarray
    author_email: np.ndarray
    assignee_id: np.ndarray
    assignee_email: np.ndarray
    json: list[bytes]
    position: dict[str, int]
    orders: dict[str | None, np.ndarray]


@dataclass
class Messages:
    """The messages of one brand at the clock, newest first: columns, rendered JSON, per-conversation groups."""

    created_us: np.ndarray
    is_staff: np.ndarray
    json: list[bytes]
    by_conversation: dict[str, np.ndarray]


@dataclass
class BrandData:
    """Everything served under `/brands/{handle}/api/v1/`."""

    handle: str
    name: str
    credentials: dict[str, str]
    conversations: Conversations
    messages: Messages
    contacts: list[bytes]
    staff: list[bytes]
    templates: list[bytes]
    template_by_id: dict[int, bytes]
    _selections: dict[ConversationQuery, np.ndarray] = field(default_factory=dict, repr=False)

    def select_conversations(self, query: ConversationQuery) -> np.ndarray:
        """Positions of the conversations a query lists, in its order (cached: clients walk page by page)."""
        hit = self._selections.get(query)
        if hit is None:
            if len(self._selections) >= SELECTION_CACHE_SIZE:
                self._selections.clear()
            hit = self._selections[query] = _select_conversations(self.conversations, query)
        return hit

    def select_messages(self, query: MessageQuery, slug: str | None = None) -> np.ndarray:
        """Positions of the messages (of one conversation when `slug` is given), newest first."""
        msgs = self.messages
        positions = msgs.by_conversation[slug] if slug is not None else np.arange(len(msgs.json))
        mask = _time_mask(msgs.created_us[positions], query.start_us, query.end_us)
        if query.filter == "staff":
            mask &= msgs.is_staff[positions]
        elif query.filter == "customer":
            mask &= ~msgs.is_staff[positions]
        return positions[mask]


def _time_mask(values: np.ndarray, start_us: int | None, end_us: int | None) -> np.ndarray:
    """start <= value <= end (both inclusive, each optional)."""
    mask = np.ones(len(values), dtype=bool)
    if start_us is not None:
        mask &= values >= start_us
    if end_us is not None:
        mask &= values <= end_us
    return mask


def _status_mask(conv: Conversations, name: str | None) -> np.ndarray:
    """The `filter` parameter: default unarchived, `archived`, `open`, `unassigned` (unarchived), `all`."""
    archived = np.isin(conv.status, ARCHIVED_STATUSES)
    if name == "all":
        return np.ones(len(archived), dtype=bool)
    if name == "archived":
        return archived
    if name == "open":
        return np.isin(conv.status, OPEN_STATUSES)
    if name == "unassigned":
        return ~archived & (conv.assignee_id == NO_ID)
    return ~archived


def _select_conversations(conv: Conversations, query: ConversationQuery) -> np.ndarray:
    """Apply every filter of `query`, then its sort order."""
    mask = _status_mask(conv, query.filter)
    mask &= _time_mask(conv.created_us, query.start_us, query.end_us)
    if query.for_email is not None:
        wanted = query.for_email.lower()
        mask &= (conv.author_email == wanted) | (conv.assignee_email == wanted)
    if query.for_id is not None:
        mask &= (conv.author_id == query.for_id) | (conv.assignee_id == query.for_id)
    if query.tags:
        wanted_tags = frozenset(query.tags)
        mask &= np.fromiter((bool(t & wanted_tags) for t in conv.tags), dtype=bool, count=len(conv.tags))
    if query.category is not None:
        mask &= conv.category == query.category
    order = conv.orders[query.sort]
    return order[mask[order]]


# ------------------------------------------------------------------------------------------ building


def _first_and_last_customer(msgs: pd.DataFrame) -> tuple[dict[str, Record], dict[str, Record]]:
    """Per conversation slug: its first message and its latest customer message (records)."""
    ordered = msgs[["message_id", *MESSAGE_FIELDS]].sort_values(["created_at", "message_id"], kind="stable")
    first = ordered.groupby("conversation_slug", sort=False).head(1)
    last_customer = ordered[~ordered["user_is_staff"].astype(bool)].groupby("conversation_slug", sort=False).tail(1)
    return ({r["conversation_slug"]: r for r in first.to_dict("records")},
            {r["conversation_slug"]: r for r in last_customer.to_dict("records")})


def _render_conversation(row: Record, contacts: dict[int, Record], staff: dict[int, Record],
                         first: Record | None, last_customer: Record | None) -> bytes:
    """One conversation in the digest's shape, plus `last_customer_message` (body, created_at)."""
    assignee_id = row["assignee_staff_id"]
    assignee = None if pd.isna(assignee_id) else staff[int(assignee_id)]
    body = api_conversation(row, contacts[int(row["author_contact_id"])], assignee, first)
    body["last_customer_message"] = None if last_customer is None else {
        "body": last_customer["body"], "created_at": _iso(last_customer["created_at"])}
    return _dump(body)


def _conversations(conv: pd.DataFrame, msgs: pd.DataFrame, contacts: dict[int, Record],
                   staff: dict[int, Record]) -> Conversations:
    """Columns, sort orders and rendered JSON of one brand's conversations."""
    conv = conv.sort_values(["created_at", "slug"], kind="stable").reset_index(drop=True)
    first, last_customer = _first_and_last_customer(msgs)
    records = conv.to_dict("records")
    created = _us(conv["created_at"])
    customer = _us(conv["last_customer_message_at"].fillna(conv["created_at"]))
    changed = _us(conv["updated_at"])
    author_id = conv["author_contact_id"].to_numpy(dtype=np.int64)
    assignee_id = _ids(conv["assignee_staff_id"])
    return Conversations(
        slugs=conv["slug"].tolist(),
        created_us=created,
        customer_us=customer,
        changed_us=changed,
        status=conv["status"].to_numpy(dtype=np.int64),
        category=conv["category"].to_numpy(dtype=object),
        tags=[frozenset(str(t) for t in tags) for tags in conv["tag_list"]],
        author_id=author_id,
        author_email=np.array([contacts[i]["email"].lower() for i in author_id.tolist()], dtype=object),
        assignee_id=assignee_id,
        assignee_email=np.array([staff[i]["email"].lower() if i in staff else "" for i in assignee_id.tolist()],
                                dtype=object),
        json=[_render_conversation(r, contacts, staff, first.get(r["slug"]), last_customer.get(r["slug"]))
              for r in records],
        position={slug: i for i, slug in enumerate(conv["slug"])},
        orders={None: _desc_order(created), "updated": _desc_order(customer), "changed": _desc_order(changed)},
    )


def _messages(msgs: pd.DataFrame, conv: pd.DataFrame) -> Messages:
    """Rendered messages of one brand, newest first, and their positions per conversation."""
    msgs = msgs.sort_values(["created_at", "message_id"], ascending=False, kind="stable").reset_index(drop=True)
    conversations = {r["slug"]: r for r in conv[["slug", "subject"]].to_dict("records")}
    records = msgs[MESSAGE_FIELDS].to_dict("records")
    rendered = [_dump(api_message(r, conversations[r["conversation_slug"]])) for r in records]
    groups = msgs.groupby("conversation_slug", sort=False).indices
    by_conversation = {slug: np.asarray(groups.get(slug, []), dtype=np.int64) for slug in conv["slug"]}
    return Messages(
        created_us=_us(msgs["created_at"]),
        is_staff=msgs["user_is_staff"].to_numpy(dtype=bool),
        json=rendered,
        by_conversation=by_conversation,
    )


def _render_template(row: Record) -> bytes:
    """A response template: id, name, body and its group."""
    return _dump({
        "id": int(row["template_id"]),
        "name": row["name"],
        "body": row["body"],
        "response_template_group": {"id": int(row["group_id"]), "name": row["group_name"]},
    })


def _records_by(frame: pd.DataFrame, key: str) -> dict[int, Record]:
    """The rows of `frame` as records keyed by the integer column `key`."""
    return {int(r[key]): r for r in frame.to_dict("records")}


def _render_all(records: Iterable[Record], render: Callable[[Record], dict[str, Any]]) -> list[bytes]:
    """Render and serialise every record."""
    return [_dump(render(r)) for r in records]


def _brand(name: str, tables: dict[str, pd.DataFrame], contacts: dict[int, Record],
           staff_by_id: dict[int, Record]) -> BrandData:
    """Index and render everything of one brand."""
    def mine(table: str) -> pd.DataFrame:
        frame = tables[table]
        return frame[frame["brand"] == name]

    conv, msgs, staff = mine("conversations"), mine("messages"), mine("staff")
    # internal notes (visibility 1, staff user) are listed with the conversation's messages, as Re:amaze does;
    # they never open a conversation, so the conversation digest (first message) is built without them
    notes = mine("internal_notes")
    notes = notes[notes["conversation_slug"].isin(conv["slug"])]
    listed = pd.concat([msgs, notes.reindex(columns=msgs.columns)], ignore_index=True) if len(notes) else msgs
    brand_contacts = mine("contacts").sort_values(["created_at", "contact_id"], ascending=False, kind="stable")
    templates = mine("response_templates").sort_values("template_id").to_dict("records")
    staff = staff.sort_values("staff_id")
    return BrandData(
        handle=brand_handle(name),
        name=name,
        credentials={email.lower(): token for email, token in zip(staff["email"], staff["api_token"])},
        conversations=_conversations(conv, msgs, contacts, staff_by_id),
        messages=_messages(listed, conv),
        contacts=_render_all(brand_contacts.to_dict("records"), api_contact),
        staff=_render_all(staff.to_dict("records"), api_staff),
        templates=[_render_template(r) for r in templates],
        template_by_id={int(r["template_id"]): _render_template(r) for r in templates},
    )


@dataclass
class ReamazeWorld:
    """The support area at the clock, one `BrandData` per brand handle."""

    as_of: str
    brands: dict[str, BrandData]

    @classmethod
    def load(cls, world_dir: Path) -> ReamazeWorld:
        """Read the world, apply the clock and build every brand's indexes."""
        world = world_at(load_world(world_dir))
        tables = dict(world.areas["support"])
        tables["internal_notes"] = world.areas.get("leaks", {}).get("internal_notes", _NO_NOTES)
        contacts = _records_by(tables["contacts"], "contact_id")
        staff = _records_by(tables["staff"], "staff_id")
        names = list(dict.fromkeys(tables["staff"]["brand"]))
        brands = {brand_handle(n): _brand(n, tables, contacts, staff) for n in names}
        return cls(as_of=str(world.meta["as_of"]), brands=brands)
