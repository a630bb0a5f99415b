"""The subset of Shopify's search syntax (`orders(query: ...)`) that the emulator understands.

Supported
- Terms separated by spaces, optionally joined with the connective `AND` (implicit AND either way).
- Time fields `created_at`, `updated_at`, `processed_at` with `:` (equal), `:>`, `:>=`, `:<`, `:<=`. Values may be
  quoted with `'` or `"`: `updated_at:>='2026-01-01T00:00:00Z'`, `updated_at:>=2026-01-01T00:00:00Z`.
- Time values: `now` (the world clock `meta.as_of`), a year `2026`, a month `2026-01`, a date `2026-01-01`, or a
  date-time with or without offset (`2026-01-01T10:00:00Z`, `2026-01-01T10:00:00+10:00`, `2026-01-01T10:00:00`).
  Values without an offset are local times of the store's timezone, as in Shopify. A value denotes a period
  (a whole year, month, day or second): `:` matches the period, `>=` its start, `>` after its end, `<` before its
  start, `<=` up to its end. Timestamps compare at whole seconds, the precision the API renders.
- `id` with the same operators on the numeric id (a GID is accepted too).

Not supported
- Fields that are not search fields of the connection are ignored, as Shopify does; the response carries a
  warning under `extensions.search` (Shopify's shape, written from memory of the live API).
- Fields Shopify supports for the connection but this emulator does not implement (e.g. `tag`, `status`),
  free-text terms, `OR`, `NOT`, `-field:` negation and parentheses raise `SearchNotSupported`, so a client never
  silently receives a different result set than Shopify would give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TIME_FIELDS = frozenset({"created_at", "updated_at", "processed_at"})
ID_FIELDS = frozenset({"id"})
IMPLEMENTED_FIELDS = TIME_FIELDS | ID_FIELDS
UNKNOWN_FIELD_WARNING = "Invalid search field for this query."

_TERM = re.compile(r"""(?:[^\s'"]+|'[^']*'|"[^"]*")+""")
_FIELD_TERM = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_.]*):(?P<op>>=|<=|>|<|=)?(?P<value>.*)$", re.S)
_PARTIAL_DATE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$")
_GID = re.compile(r"^gid://shopify/\w+/(\d+)$")


class SearchError(ValueError):
    """A malformed search value (e.g. an unparseable date)."""


class SearchNotSupported(SearchError):
    """Valid Shopify search syntax that the emulator deliberately does not implement."""


@dataclass
class Range:
    """An integer interval on one field; `None` bounds are open. Both bounds inclusive."""

    low: int | None = None
    high: int | None = None

    def intersect(self, low: int | None, high: int | None) -> None:
        if low is not None:
            self.low = low if self.low is None else max(self.low, low)
        if high is not None:
            self.high = high if self.high is None else min(self.high, high)

    @property
    def empty(self) -> bool:
        return self.low is not None and self.high is not None and self.low > self.high


@dataclass
class SearchFilter:
    """The parsed query: one inclusive range per field (epoch seconds for times), plus ignored-field warnings."""

    ranges: dict[str, Range] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _period_of_partial(match: re.Match[str], tz: ZoneInfo) -> tuple[int, int]:
    year, month, day = int(match["y"]), match["m"], match["d"]
    if month is None:
        start, end = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
    elif day is None:
        m = int(month)
        start = datetime(year, m, 1, tzinfo=tz)
        end = datetime(year + (m == 12), m % 12 + 1, 1, tzinfo=tz)
    else:
        start = datetime(year, int(month), int(day), tzinfo=tz)
        end = datetime.combine(start.date() + timedelta(days=1), start.time(), tzinfo=tz)
    return int(start.timestamp()), int(end.timestamp()) - 1


def time_period(value: str, tz: ZoneInfo, now: datetime) -> tuple[int, int]:
    """The inclusive period [first second, last second] in epoch seconds denoted by a search time value."""
    if value.lower() == "now":
        second = int(now.timestamp())
        return second, second
    partial = _PARTIAL_DATE.match(value)
    try:
        if partial:
            return _period_of_partial(partial, tz)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SearchError(f"Invalid date value in search query: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    second = int(moment.astimezone(UTC).timestamp())
    return second, second


def id_period(value: str) -> tuple[int, int]:
    """The numeric id named by `123` or `gid://shopify/Order/123`."""
    gid = _GID.match(value)
    text = gid.group(1) if gid else value
    if not text.isdigit():
        raise SearchError(f"Invalid id value in search query: {value!r}")
    return int(text), int(text)


def bounds_for(op: str, period: tuple[int, int]) -> tuple[int | None, int | None]:
    """Inclusive (low, high) bounds for comparing a field against a period with operator `op`."""
    first, last = period
    if op in ("", "="):
        return first, last
    if op == ">=":
        return first, None
    if op == ">":
        return last + 1, None
    if op == "<":
        return None, first - 1
    if op == "<=":
        return None, last
    raise SearchError(f"Unknown search operator {op!r}")


def _reject_unsupported(term: str, known_fields: frozenset[str]) -> None:
    if term in ("OR", "NOT") or term.startswith("(") or term.endswith(")"):
        raise SearchNotSupported(f"emulator: search connective {term!r} is not supported")
    if term.startswith("-"):
        name = term[1:].split(":", 1)[0]
        if name in known_fields or name in IMPLEMENTED_FIELDS:
            raise SearchNotSupported(f"emulator: negated search term {term!r} is not supported")


def parse_search(
    query: str | None, *, tz: ZoneInfo, now: datetime, known_fields: frozenset[str] = frozenset()
) -> SearchFilter:
    """Parse a Shopify search string into per-field ranges.

    `known_fields` are the search fields the real API accepts for this connection (read from the schema's
    description); any of them that is not implemented here raises `SearchNotSupported`, every other unknown
    field is ignored with a warning.
    """
    result = SearchFilter()
    for term in _TERM.findall(query or ""):
        if term == "AND":
            continue
        _reject_unsupported(term, known_fields)
        if term.startswith("-"):
            result.warnings.append({"field": term[1:].split(":", 1)[0], "message": UNKNOWN_FIELD_WARNING})
            continue
        match = _FIELD_TERM.match(term)
        if match is None:
            raise SearchNotSupported(f"emulator: free-text search term {term!r} is not supported")
        name, op, value = match["field"], match["op"] or "", _unquote(match["value"])
        if name not in IMPLEMENTED_FIELDS:
            if name in known_fields:
                raise SearchNotSupported(f"emulator: search field {name!r} is not implemented")
            result.warnings.append({"field": name, "message": UNKNOWN_FIELD_WARNING})
            continue
        period = time_period(value, tz, now) if name in TIME_FIELDS else id_period(value)
        low, high = bounds_for(op, period)
        result.ranges.setdefault(name, Range()).intersect(low, high)
    return result


_DESCRIPTION_ROW = re.compile(r"^\|\s*([a-z_][a-z0-9_]*)\s*\|", re.M)


def search_fields_from_description(description: str | None) -> frozenset[str]:
    """The search field names listed in the table of a `query` argument's description in the schema."""
    return frozenset(set(_DESCRIPTION_ROW.findall(description or "")) - {"default"})
