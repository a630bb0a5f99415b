"""Query parameters of the Re:amaze emulator: parsed strictly, so a client's mistake shows as a 422.

The digest names the parameters but not what happens with a wrong value; the emulator answers 422 with a JSON
body (`{"error": "..."}`), the status the digest gives for an invalid request, rather than guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sandbox.emulators.reamaze_world import ConversationQuery, MessageQuery

CONVERSATION_FILTERS = frozenset({"archived", "open", "unassigned", "all"})
CONVERSATION_SORTS = frozenset({"updated", "changed"})
MESSAGE_FILTERS = frozenset({"staff", "customer"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class QueryError(ValueError):
    """A query parameter the emulator cannot honour (answered with 422)."""


def _choice(params: Mapping[str, str], name: str, allowed: frozenset[str]) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise QueryError(f"invalid {name} {value!r}: use one of {', '.join(sorted(allowed))}")
    return value


def parse_time(name: str, value: str | None) -> int | None:
    """An ISO 8601 date or date-time as epoch microseconds; without an offset it is UTC (a date is midnight)."""
    if value is None or value == "":
        return None
    try:
        stamp = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError as exc:
        raise QueryError(f"invalid {name} {value!r}: expected ISO 8601") from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return (stamp - EPOCH) // MICROSECOND


def _int(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise QueryError(f"invalid {name} {value!r}: expected an integer") from exc


def parse_page(params: Mapping[str, str]) -> int:
    """The 1-based `page` (default 1)."""
    page = _int("page", params.get("page"))
    if page is None:
        return 1
    if page < 1:
        raise QueryError(f"invalid page {page}: pages start at 1")
    return page


def _window(params: Mapping[str, str]) -> tuple[int | None, int | None]:
    start = parse_time("start_date", params.get("start_date"))
    end = parse_time("end_date", params.get("end_date"))
    return start, end


def parse_conversation_query(params: Mapping[str, str]) -> ConversationQuery:
    """`filter`, `for`, `for_id`, `sort`, `tag` (comma separated), `category`, `start_date`, `end_date`."""
    start, end = _window(params)
    tags = tuple(sorted({t.strip() for t in (params.get("tag") or "").split(",") if t.strip()}))
    for_email = (params.get("for") or "").strip().lower() or None
    return ConversationQuery(
        filter=_choice(params, "filter", CONVERSATION_FILTERS),
        for_email=for_email,
        for_id=_int("for_id", params.get("for_id")),
        sort=_choice(params, "sort", CONVERSATION_SORTS),
        tags=tags,
        category=params.get("category") or None,
        start_us=start,
        end_us=end,
    )


def parse_message_query(params: Mapping[str, str]) -> MessageQuery:
    """`filter` (staff | customer), `start_date`, `end_date`."""
    start, end = _window(params)
    return MessageQuery(filter=_choice(params, "filter", MESSAGE_FILTERS), start_us=start, end_us=end)

