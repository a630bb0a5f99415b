"""HTTP client and row shapes of the Re:amaze v1 API (paging and retries come from dlt's REST client)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator

from pipelines.sources.reamaze.settings import API_PATH


def brand_client(base_url: str, login_email: str, api_token: str) -> RESTClient:
    """A client for one brand: Basic auth (login e-mail + API token), JSON, 1-based `page` up to `page_count`.

    dlt's default session retries 429 and 5xx with exponential backoff and honours `Retry-After`.
    """
    return RESTClient(
        base_url=f"{base_url.rstrip('/')}/{API_PATH}",
        headers={"Accept": "application/json"},
        auth=HttpBasicAuth(login_email, api_token),
        paginator=PageNumberPaginator(base_page=1, page_param="page", total_path="page_count"),
    )


def pages(client: RESTClient, path: str, resource: str,
          params: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list endpoint, as the list held under `resource`."""
    yield from client.paginate(path, params=params or {}, data_selector=resource)


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 (the API's `...Z`) → aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def window_start(cursor: str, lookback_seconds: int) -> str:
    """The `start_date` of an incremental read: the cursor minus the lookback."""
    stamp = parse_time(cursor)
    assert stamp is not None
    return (stamp - timedelta(seconds=lookback_seconds)).isoformat().replace("+00:00", "Z")


def conversation_row(item: dict[str, Any], brand: str) -> dict[str, Any]:
    """One conversation (tags as `,`-separated text: Re:amaze tags cannot hold the comma its filter splits on)."""
    category = item.get("category") or {}
    author = item.get("author") or {}
    assignee = item.get("assignee") or {}
    data = item.get("data") or {}
    last_customer = item.get("last_customer_message") or {}
    return {
        "slug": item["slug"],
        "brand": brand,
        "subject": item.get("subject"),
        "created_at": parse_time(item["created_at"]),
        "status": int(item["status"]),
        "category_slug": category.get("slug"),
        "category_name": category.get("name"),
        "channel": category.get("channel"),
        "tags": ",".join(str(t) for t in item.get("tag_list") or []),
        "data": json.dumps(data, sort_keys=True),
        "order_number": data.get("order_number"),
        "shop_domain": data.get("shop_domain"),
        "author_id": author.get("id"),
        "author_name": author.get("name"),
        "author_email": author.get("email"),
        "assignee_id": assignee.get("id"),
        "assignee_email": assignee.get("email"),
        "last_customer_message_at": parse_time(last_customer.get("created_at")),
    }


def message_key(brand: str, slug: str, created_at: str, user_email: str | None, visibility: int,
                body: str | None) -> str:
    """Messages carry no id in the API: a stable key from what identifies one (brand, conversation, time,
    author, visibility, body)."""
    raw = "\x1f".join([brand, slug, created_at, user_email or "", str(visibility), body or ""])
    return hashlib.md5(raw.encode("utf-8")).hexdigest()


def message_row(item: dict[str, Any], brand: str) -> dict[str, Any]:
    """One message; `origin_id` is set on automated messages (auto-reply, chatbot, survey), null for people."""
    user = item.get("user") or {}
    slug = (item.get("conversation") or {})["slug"]
    visibility = int(item["visibility"])
    return {
        "message_key": message_key(brand, slug, item["created_at"], user.get("email"), visibility, item.get("body")),
        "brand": brand,
        "conversation_slug": slug,
        "created_at": parse_time(item["created_at"]),
        "visibility": visibility,
        "origin_id": item.get("origin_id"),
        "user_name": user.get("name"),
        "user_email": user.get("email"),
        "user_is_staff": bool(user.get("staff?")),
        "body": item.get("body"),
    }


def staff_row(item: dict[str, Any], brand: str) -> dict[str, Any]:
    return {"id": item["id"], "brand": brand, "name": item.get("name"), "email": item.get("email")}


def contact_row(item: dict[str, Any], brand: str) -> dict[str, Any]:
    return {"id": item["id"], "brand": brand, "name": item.get("name"), "email": item.get("email"),
            "data": json.dumps(item.get("data") or {}, sort_keys=True)}


def template_row(item: dict[str, Any], brand: str) -> dict[str, Any]:
    group = item.get("response_template_group") or {}
    return {"id": item["id"], "brand": brand, "name": item.get("name"), "body": item.get("body"),
            "group_id": group.get("id"), "group_name": group.get("name")}
