"""Constants and declared raw columns of the Re:amaze v1 source."""

API_PATH = "api/v1"
# Re-read this much before the newest message seen by the last run: replies written just before the previous
# run, and status changes that follow them (Done within the hour, On hold after 1 h), are fetched again.
LOOKBACK_SECONDS = 6 * 3600
# Statuses that keep a conversation in the inbox (Open, Pending, On hold, Chatbot assigned). Only these change
# without a new message (resolved / auto-resolved / spam / chatbot resolved), so the source remembers them.
UNARCHIVED_STATUSES = frozenset({0, 1, 5, 7})


def _text(nullable: bool = True) -> dict:
    return {"data_type": "text", "nullable": nullable}


def _bigint(nullable: bool = True) -> dict:
    return {"data_type": "bigint", "nullable": nullable}


def _timestamp(nullable: bool = True) -> dict:
    return {"data_type": "timestamp", "nullable": nullable}


# A fresh dict per column: dlt writes the column name into the hint it is given.
TABLE_COLUMNS: dict[str, dict[str, dict]] = {
    "conversations": {
        "slug": _text(False), "brand": _text(False), "subject": _text(), "created_at": _timestamp(False),
        "status": _bigint(False), "category_slug": _text(), "category_name": _text(), "channel": _text(),
        "tags": _text(), "data": _text(), "order_number": _text(), "shop_domain": _text(),
        "author_id": _bigint(), "author_name": _text(), "author_email": _text(), "assignee_id": _bigint(),
        "assignee_email": _text(), "last_customer_message_at": _timestamp(),
    },
    "messages": {
        "message_key": _text(False), "brand": _text(False), "conversation_slug": _text(False),
        "created_at": _timestamp(False), "visibility": _bigint(False), "origin_id": _bigint(),
        "user_name": _text(), "user_email": _text(), "user_is_staff": {"data_type": "bool", "nullable": False},
        "body": _text(),
    },
    "staff": {"id": _bigint(False), "brand": _text(False), "name": _text(), "email": _text()},
    "contacts": {"id": _bigint(False), "brand": _text(False), "name": _text(), "email": _text(), "data": _text()},
    "response_templates": {
        "id": _bigint(False), "brand": _text(False), "name": _text(), "body": _text(), "group_id": _bigint(),
        "group_name": _text(),
    },
}
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "conversations": ("brand", "slug"),
    "messages": ("message_key",),
    "staff": ("brand", "id"),
    "contacts": ("brand", "id"),
    "response_templates": ("brand", "id"),
}
