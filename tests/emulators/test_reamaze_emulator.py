"""The Re:amaze v1 emulator against a tiny generated sandbox (expectations computed from the world at the clock)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from sandbox.build import advance, generate
from sandbox.emulators.reamaze import PAGE_SIZE, create_app
from sandbox.world import load_world, world_at
from tests.emulators.helpers import serve

SEED = 7
BRAND = "lumen"
JSON = {"Accept": "application/json"}
# The fields the digest names per object.
CONVERSATION_FIELDS = {"slug", "subject", "created_at", "status", "category", "tag_list", "author", "data",
                       "assignee", "message", "last_customer_message", "followers"}
CATEGORY_FIELDS = {"slug", "name", "channel"}
AUTHOR_FIELDS = {"name", "email", "data"}
MESSAGE_FIELDS = {"body", "created_at", "visibility", "origin_id", "user", "conversation", "recipients",
                  "attachments"}
USER_FIELDS = {"name", "email", "staff?"}
STAFF_FIELDS = {"name", "email", "id"}
TEMPLATE_FIELDS = {"id", "name", "body", "response_template_group"}


# ------------------------------------------------------------------------------------------ fixtures




@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sandbox written by `sandbox.build.generate` (never modified: the clock test works on a copy)."""
    out = tmp_path_factory.mktemp("reamaze_tiny")
    generate("tiny", SEED, out)
    return out


@pytest.fixture(scope="module")
def support(sandbox_dir: Path) -> dict[str, pd.DataFrame]:
    """The support tables at the clock, per the contract (`world_at`); `messages` also holds the leaks area's
    Re:amaze internal notes, which the API lists with the conversation's messages."""
    world = world_at(load_world(sandbox_dir / "world"))
    tables = dict(world.areas["support"])
    tables["messages"] = pd.concat([tables["messages"], _listable_notes(world)], ignore_index=True)
    return tables


def _listable_notes(world: Any) -> pd.DataFrame:
    """Internal notes at the clock whose conversation exists at the clock (the API lists nothing else)."""
    notes = world.areas["leaks"]["internal_notes"]
    return notes[notes["conversation_slug"].isin(world.areas["support"]["conversations"]["slug"])]


@pytest.fixture(scope="module")
def internal_notes(sandbox_dir: Path) -> pd.DataFrame:
    """The leaks area's Re:amaze internal notes at the clock (Lumen)."""
    return lumen(_listable_notes(world_at(load_world(sandbox_dir / "world"))))


@pytest.fixture(scope="module")
def base_url(sandbox_dir: Path) -> Iterator[str]:
    with serve(create_app(sandbox_dir / "world")) as url:
        yield url


@pytest.fixture(scope="module")
def auth(support: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Basic-auth credentials of the first Lumen agent."""
    staff = support["staff"]
    agent = staff[(staff["brand"] == "Lumen") & (staff["role"] == "agent")].iloc[0]
    return agent["email"], agent["api_token"]


@pytest.fixture(scope="module")
def client(auth: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, headers=JSON, auth=auth) as http:
        yield http


def api(base_url: str, path: str) -> str:
    return f"{base_url}/brands/{BRAND}/api/v1/{path}"


def walk(client: httpx.Client, url: str, resource: str, **params: Any) -> list[dict[str, Any]]:
    """Every object of a list endpoint, page by page, checking the envelope on the way."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get(url, params={**params, "page": page})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["page_size"] == PAGE_SIZE
        assert body["page_count"] == math.ceil(body["total_count"] / PAGE_SIZE)
        items.extend(body[resource])
        if page >= body["page_count"]:
            assert len(items) == body["total_count"]
            return items
        assert len(body[resource]) == PAGE_SIZE
        page += 1


def slugs(items: list[dict[str, Any]]) -> list[str]:
    return [c["slug"] for c in items]


def lumen(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["brand"] == "Lumen"]


# ------------------------------------------------------------------------------------------ shapes


def _missing(obj: dict[str, Any], fields: set[str], label: str) -> list[str]:
    return [f"{label}.{name}" for name in sorted(fields - set(obj))]


def test_every_object_has_the_digest_fields(client: httpx.Client, base_url: str) -> None:
    missing: list[str] = []
    conversations = walk(client, api(base_url, "conversations"), "conversations", filter="all")
    for c in conversations:
        missing += _missing(c, CONVERSATION_FIELDS, f"conversation {c.get('slug')}")
        missing += _missing(c["category"], CATEGORY_FIELDS, "category")
        missing += _missing(c["author"], AUTHOR_FIELDS, "author")
        assert c["status"] in range(9)
        assert isinstance(c["tag_list"], list) and isinstance(c["data"], dict)
    for m in walk(client, api(base_url, "messages"), "messages"):
        missing += _missing(m, MESSAGE_FIELDS, "message") + _missing(m["user"], USER_FIELDS, "message.user")
        missing += _missing(m["conversation"], {"slug", "subject"}, "message.conversation")
        assert m["visibility"] in (0, 1, 2)
    for s in walk(client, api(base_url, "staff"), "staff"):
        missing += _missing(s, STAFF_FIELDS, "staff")
    for t in walk(client, api(base_url, "response_templates"), "response_templates"):
        missing += _missing(t, TEMPLATE_FIELDS, "template")
        missing += _missing(t["response_template_group"], {"id", "name"}, "response_template_group")
    for k in walk(client, api(base_url, "contacts"), "contacts"):
        missing += _missing(k, {"name", "email"}, "contact")
    assert missing == []


def test_no_truth_column_is_exposed(client: httpx.Client, base_url: str) -> None:
    conversation = client.get(api(base_url, "conversations"), params={"filter": "all"}).json()["conversations"][0]
    assert not {"kind", "true_cause", "store_id", "order_id", "updated_at"} & set(conversation)
    message = client.get(api(base_url, "messages")).json()["messages"][0]
    assert not {"kind", "template_id", "automated"} & set(message)


def test_single_conversation_and_template(client: httpx.Client, base_url: str) -> None:
    first = client.get(api(base_url, "conversations"), params={"filter": "all"}).json()["conversations"][0]
    assert client.get(api(base_url, f"conversations/{first['slug']}")).json() == first
    template = client.get(api(base_url, "response_templates")).json()["response_templates"][0]
    assert client.get(api(base_url, f"response_templates/{template['id']}")).json() == template


# ------------------------------------------------------------------------------------------ paging


def test_paging_walks_every_conversation_exactly_once(client: httpx.Client, base_url: str,
                                                      support: dict[str, pd.DataFrame]) -> None:
    expected = set(lumen(support["conversations"])["slug"])
    walked = slugs(walk(client, api(base_url, "conversations"), "conversations", filter="all"))
    assert len(walked) == len(set(walked)) == len(expected)
    assert set(walked) == expected
    assert len(expected) > PAGE_SIZE  # several pages, a short last one


def test_page_past_the_end_is_empty(client: httpx.Client, base_url: str) -> None:
    first = client.get(api(base_url, "conversations"), params={"filter": "all"}).json()
    past = client.get(api(base_url, "conversations"), params={"filter": "all", "page": first["page_count"] + 1})
    assert past.status_code == 200
    assert past.json() == {**first, "conversations": []}


def test_bad_parameters_give_422(client: httpx.Client, base_url: str) -> None:
    for params in ({"filter": "closed"}, {"sort": "oldest"}, {"page": "0"}, {"page": "x"},
                   {"start_date": "yesterday"}, {"for_id": "abc"}):
        assert client.get(api(base_url, "conversations"), params=params).status_code == 422, params
    assert client.get(api(base_url, "messages"), params={"filter": "bots"}).status_code == 422


# ------------------------------------------------------------------------------------------ filters and sorts


def _listed(client: httpx.Client, base_url: str, **params: Any) -> list[str]:
    return slugs(walk(client, api(base_url, "conversations"), "conversations", **params))


def test_status_filters(client: httpx.Client, base_url: str, support: dict[str, pd.DataFrame]) -> None:
    conv = lumen(support["conversations"])
    archived = conv["status"].isin([2, 3, 4, 6, 8])
    assert set(_listed(client, base_url)) == set(conv.loc[~archived, "slug"])
    assert set(_listed(client, base_url, filter="archived")) == set(conv.loc[archived, "slug"])
    assert set(_listed(client, base_url, filter="open")) == set(conv.loc[conv["status"] == 0, "slug"])
    unassigned = ~archived & conv["assignee_staff_id"].isna()
    assert set(_listed(client, base_url, filter="unassigned")) == set(conv.loc[unassigned, "slug"])
    assert set(_listed(client, base_url, filter="all")) == set(conv["slug"])
    assert 0 < archived.sum() < len(conv)


def test_tag_and_category_filters(client: httpx.Client, base_url: str, support: dict[str, pd.DataFrame]) -> None:
    conv = lumen(support["conversations"])
    tags = conv["tag_list"].explode().dropna().value_counts().index[:2].tolist()
    one = {s for s, t in zip(conv["slug"], conv["tag_list"]) if tags[0] in list(t)}
    either = {s for s, t in zip(conv["slug"], conv["tag_list"]) if set(tags) & set(t)}
    assert one and either > one
    assert set(_listed(client, base_url, filter="all", tag=tags[0])) == one
    assert set(_listed(client, base_url, filter="all", tag=",".join(tags))) == either
    category = conv["category"].value_counts().index[1]
    assert set(_listed(client, base_url, filter="all", category=category)) == set(
        conv.loc[conv["category"] == category, "slug"])


def test_date_range_is_inclusive_on_created_at(client: httpx.Client, base_url: str,
                                               support: dict[str, pd.DataFrame]) -> None:
    created = lumen(support["conversations"]).sort_values("created_at")
    start, end = created["created_at"].iloc[10], created["created_at"].iloc[40]
    inside = created[(created["created_at"] >= start) & (created["created_at"] <= end)]
    listed = _listed(client, base_url, filter="all", start_date=start.isoformat(), end_date=end.isoformat())
    assert set(listed) == set(inside["slug"]) and len(listed) == 31
    day = _listed(client, base_url, filter="all", start_date=str(end.date()))
    assert set(day) == set(created.loc[created["created_at"] >= pd.Timestamp(str(end.date()), tz="UTC"), "slug"])


def test_sort_orders(client: httpx.Client, base_url: str, support: dict[str, pd.DataFrame]) -> None:
    conv = lumen(support["conversations"]).set_index("slug")
    default = _listed(client, base_url, filter="all")
    changed = _listed(client, base_url, filter="all", sort="changed")
    updated = _listed(client, base_url, filter="all", sort="updated")
    assert conv.loc[default, "created_at"].is_monotonic_decreasing
    assert conv.loc[changed, "updated_at"].is_monotonic_decreasing
    assert conv.loc[updated, "last_customer_message_at"].is_monotonic_decreasing
    assert set(changed) == set(updated) == set(default) == set(conv.index)
    assert changed != default


def test_for_and_for_id(client: httpx.Client, base_url: str, support: dict[str, pd.DataFrame]) -> None:
    conv = lumen(support["conversations"])
    staff = support["staff"].set_index("staff_id")
    assignee = int(conv["assignee_staff_id"].dropna().value_counts().index[0])
    expected = set(conv.loc[conv["assignee_staff_id"] == assignee, "slug"])
    assert set(_listed(client, base_url, filter="all", for_id=assignee)) == expected
    assert set(_listed(client, base_url, filter="all", **{"for": staff.loc[assignee, "email"]})) == expected
    author = int(conv["author_contact_id"].iloc[0])
    assert set(_listed(client, base_url, filter="all", for_id=author)) == set(
        conv.loc[conv["author_contact_id"] == author, "slug"])


# ------------------------------------------------------------------------------------------ messages


def test_messages_per_conversation(client: httpx.Client, base_url: str, support: dict[str, pd.DataFrame]) -> None:
    msgs = lumen(support["messages"])
    for slug, group in list(msgs.groupby("conversation_slug"))[:15]:
        listed = walk(client, api(base_url, f"conversations/{slug}/messages"), "messages")
        assert len(listed) == len(group)
        assert {m["conversation"]["slug"] for m in listed} == {slug}
        assert [m["created_at"] for m in listed] == sorted((m["created_at"] for m in listed), reverse=True)
        staff_only = walk(client, api(base_url, f"conversations/{slug}/messages"), "messages", filter="staff")
        assert len(staff_only) == int(group["user_is_staff"].sum())
        assert all(m["user"]["staff?"] for m in staff_only)


def test_internal_notes_are_listed_with_their_conversation(client: httpx.Client, base_url: str,
                                                            internal_notes: pd.DataFrame) -> None:
    """An escalation written as a Re:amaze internal note: visibility 1, a staff user, the `approved_by:` body."""
    assert len(internal_notes) > 0, "no internal note at the clock: the test would prove nothing"
    for note in internal_notes.itertuples():
        listed = walk(client, api(base_url, f"conversations/{note.conversation_slug}/messages"), "messages")
        # one conversation may hold several approvals with the same text: the note is the one at its own time
        served = [m for m in listed if m["body"] == note.body and m["visibility"] == 1
                  and pd.Timestamp(m["created_at"]) == note.created_at.floor("ms")]
        assert len(served) == 1, note.conversation_slug
        assert served[0]["user"]["staff?"] is True and "approved_by:" in served[0]["body"]
        assert pd.Timestamp(served[0]["created_at"]) == note.created_at.floor("ms")


def test_all_messages_and_filters(client: httpx.Client, base_url: str, support: dict[str, pd.DataFrame]) -> None:
    msgs = lumen(support["messages"])
    assert len(walk(client, api(base_url, "messages"), "messages")) == len(msgs)
    staff = walk(client, api(base_url, "messages"), "messages", filter="staff")
    customer = walk(client, api(base_url, "messages"), "messages", filter="customer")
    assert len(staff) == int(msgs["user_is_staff"].sum()) and len(customer) == len(msgs) - len(staff)
    assert not any(m["user"]["staff?"] for m in customer)
    cut = msgs["created_at"].sort_values().iloc[len(msgs) // 2]
    after = walk(client, api(base_url, "messages"), "messages", start_date=cut.isoformat())
    assert len(after) == int((msgs["created_at"] >= cut).sum())


# ------------------------------------------------------------------------------------------ errors


def test_authentication_failures(base_url: str, auth: tuple[str, str]) -> None:
    url = api(base_url, "conversations")
    assert httpx.get(url, headers=JSON).status_code == 401
    assert httpx.get(url, headers=JSON, auth=(auth[0], auth[1] + "x")).status_code == 401
    assert httpx.get(url, headers=JSON, auth=("nobody@lumen.example.com", auth[1])).status_code == 401
    response = httpx.get(url, headers=JSON, auth=(auth[0].upper(), auth[1]))
    assert response.status_code == 200  # e-mails are case-insensitive


def test_other_brands_staff_is_refused(sandbox_dir: Path, tmp_path: Path, auth: tuple[str, str]) -> None:
    """A second brand (staff only) added to a copy of the world: its staff cannot read Lumen, nor Lumen's it."""
    world = shutil.copytree(sandbox_dir / "world", tmp_path / "world")
    staff = pd.read_parquet(world / "support" / "staff.parquet")
    other = staff.iloc[[0]].assign(brand="Threadline", staff_id=69_999, email="grace@threadline.example.com",
                                   api_token="rmz_sandbox_threadline_69999")
    pd.concat([staff, other], ignore_index=True).to_parquet(world / "support" / "staff.parquet")
    foreign = ("grace@threadline.example.com", "rmz_sandbox_threadline_69999")
    with serve(create_app(world)) as url:
        lumen_url = f"{url}/brands/lumen/api/v1/conversations"
        threadline_url = f"{url}/brands/threadline/api/v1/conversations"
        assert httpx.get(lumen_url, headers=JSON, auth=foreign).status_code == 401
        assert httpx.get(threadline_url, headers=JSON, auth=auth).status_code == 401
        empty = httpx.get(threadline_url, headers=JSON, auth=foreign)
        assert empty.json() == {"page_size": 30, "page_count": 0, "total_count": 0, "conversations": []}


def test_accept_header_and_not_found(client: httpx.Client, base_url: str, auth: tuple[str, str]) -> None:
    url = api(base_url, "conversations")
    assert httpx.get(url, auth=auth, headers={"Accept": ""}).status_code == 406
    assert httpx.get(url, auth=auth).status_code == 406  # httpx sends Accept: */*
    assert httpx.get(url, auth=auth, headers={"Accept": "application/json; charset=utf-8"}).status_code == 200
    assert client.get(api(base_url, "conversations/no-such-slug-000000")).status_code == 404
    assert client.get(api(base_url, "conversations/no-such-slug-000000/messages")).status_code == 404
    assert client.get(api(base_url, "response_templates/1")).status_code == 404
    assert client.get(api(base_url, "response_templates/abc")).status_code == 404
    assert client.get(f"{base_url}/brands/nosuchbrand/api/v1/conversations").status_code == 404
    assert client.get(api(base_url, "reports/volume")).status_code == 404


def test_stats_count_requests(client: httpx.Client, base_url: str) -> None:
    assert httpx.post(f"{base_url}/__stats/reset").json() == {"ok": True}
    client.get(api(base_url, "conversations"), params={"filter": "all"})
    client.get(api(base_url, "conversations/no-such-slug-000000"))
    stats = httpx.get(f"{base_url}/__stats").json()
    assert stats["by_status"] == {"200": 1, "404": 1}
    assert stats["stores"][BRAND]["root_fields"]["conversations"] == {"calls": 1, "objects": 30}


# ------------------------------------------------------------------------------------------ clock and limiter


def _state(client: httpx.Client, base_url: str) -> tuple[dict[str, int], int]:
    conversations = walk(client, api(base_url, "conversations"), "conversations", filter="all")
    total_messages = client.get(api(base_url, "messages")).json()["total_count"]
    return {c["slug"]: c["status"] for c in conversations}, total_messages


def test_clock_moves_without_restart(sandbox_dir: Path, tmp_path: Path, client: httpx.Client) -> None:
    out = tmp_path / "sandbox"
    shutil.copytree(sandbox_dir, out)
    old_clock = pd.Timestamp(load_world(out / "world").meta["as_of"])
    with serve(create_app(out / "world")) as url:
        before, messages_before = _state(client, url)
        advance(out, 3)
        after, messages_after = _state(client, url)
        changed = _listed(client, url, filter="all", sort="changed")
    expected = lumen(world_at(load_world(out / "world")).areas["support"]["conversations"]).set_index("slug")
    assert after == expected["status"].astype(int).to_dict()
    assert set(after) > set(before)
    assert messages_after > messages_before
    assert any(after[slug] != status for slug, status in before.items())
    # an incremental extractor walking sort=changed can stop at the first conversation unchanged since its cursor
    recent = (expected.loc[changed, "updated_at"] > old_clock).to_numpy()
    n_recent = int(recent.sum())
    assert n_recent > 0 and recent[:n_recent].all() and not recent[n_recent:].any()


def test_rate_limiter(sandbox_dir: Path, auth: tuple[str, str]) -> None:
    now = [1000.0]
    app = create_app(sandbox_dir / "world", rate_limit_per_second=3, clock=lambda: now[0])
    with serve(app) as url, httpx.Client(headers=JSON, auth=auth) as http:
        codes = [http.get(f"{url}/brands/lumen/api/v1/staff").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        now[0] += 1.0
        assert http.get(f"{url}/brands/lumen/api/v1/staff").status_code == 200
    unlimited = create_app(sandbox_dir / "world")
    with serve(unlimited) as url, httpx.Client(headers=JSON, auth=auth) as http:
        assert {http.get(f"{url}/brands/lumen/api/v1/staff").status_code for _ in range(20)} == {200}
