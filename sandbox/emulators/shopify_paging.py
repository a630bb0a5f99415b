"""Relay cursor pagination over a `SortIndex`, in O(page) when the filter is a range on the sort key.

A connection is the ordered sequence S: the index rows inside the sort-key range (bisected), in ascending order
or descending when `reverse`, keeping only rows that pass an optional vectorised `predicate` (filters on other
fields, scanned in growing numpy chunks from the page boundary). `after`/`before` cut S at a cursor, `first`
takes from the front of what is left, `last` from the back (both: `first`, then `last` of that, as Relay says).
`hasPreviousPage`/`hasNextPage` say whether S has rows before/after the page (whatever the cursors), which is
what Shopify reports.

Cursors are opaque base64 JSON `{"last_id": <id>, "last_value": "<sort value>"}`, the shape Shopify uses.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import orjson

from sandbox.emulators.shopify_world import SortIndex, iso

MAX_PAGE_SIZE = 250
# Shopify's wording: the first is confirmed by public client issues, the second could not be checked (conservative).
MISSING_FIRST_OR_LAST = "you must provide one of first or last"
PAGE_TOO_LARGE = "The {arg} argument cannot exceed {max}."
NEGATIVE_PAGE = "The {arg} argument must be a non-negative integer."  # emulator wording
INVALID_CURSOR = "Invalid cursor for current pagination sort."  # emulator wording

Predicate = Callable[[np.ndarray], np.ndarray]
_MIN_CHUNK = 64


class PagingError(ValueError):
    """A client error in the paging arguments (reported as a GraphQL error)."""


@dataclass(frozen=True)
class Page:
    """Indices into the `SortIndex` in response order, plus the two pageInfo booleans."""

    indices: list[int]
    has_previous: bool
    has_next: bool


def check_page_size(first: int | None, last: int | None) -> None:
    """Shopify's rules: one of first/last is required, and neither may exceed 250."""
    if first is None and last is None:
        raise PagingError(MISSING_FIRST_OR_LAST)
    for arg, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise PagingError(NEGATIVE_PAGE.format(arg=arg))
        if value is not None and value > MAX_PAGE_SIZE:
            raise PagingError(PAGE_TOO_LARGE.format(arg=arg, max=MAX_PAGE_SIZE))


def encode_cursor(id_: int, value: int, *, time_valued: bool) -> str:
    """The opaque cursor of the row with this id and sort value."""
    last_value = iso(value) if time_valued else str(value)
    raw = orjson.dumps({"last_id": id_, "last_value": last_value})
    return base64.b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, time_valued: bool) -> tuple[int, int]:
    """(sort value, id) of a cursor made by `encode_cursor` for the same kind of sort key."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=False)
        data = orjson.loads(raw)
        id_, last_value = data["last_id"], data["last_value"]
        if not isinstance(id_, int) or isinstance(id_, bool) or not isinstance(last_value, str):
            raise TypeError("bad cursor fields")
        if time_valued:
            moment = datetime.fromisoformat(last_value)
            if moment.tzinfo is None:
                raise ValueError("naive cursor time")
            return int(moment.astimezone(UTC).timestamp()), id_
        return int(last_value), id_
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PagingError(INVALID_CURSOR) from exc


def _scan(
    index: SortIndex, predicate: Predicate | None, start: int, stop: int, upward: bool, limit: int
) -> list[int]:
    """Up to `limit` indices in [start, stop) passing `predicate`, walking up from start or down from stop."""
    if limit <= 0 or start >= stop:
        return []
    if predicate is None:
        if upward:
            return list(range(start, min(stop, start + limit)))
        return list(range(stop - 1, max(start, stop - limit) - 1, -1))
    found: list[int] = []
    chunk = max(_MIN_CHUNK, 2 * limit)
    lo, hi = start, stop
    while lo < hi and len(found) < limit:
        i, j = (lo, min(hi, lo + chunk)) if upward else (max(lo, hi - chunk), hi)
        hits = np.flatnonzero(predicate(index.positions[i:j])) + i
        found.extend((hits if upward else hits[::-1])[: limit - len(found)].tolist())
        lo, hi = (j, hi) if upward else (lo, i)
        chunk *= 2
    return found


@dataclass(frozen=True)
class PageRequest:
    """The paging arguments of one connection field, cursors already decoded to (value, id)."""

    first: int | None = None
    last: int | None = None
    after: tuple[int, int] | None = None
    before: tuple[int, int] | None = None
    reverse: bool = False


def _window(index: SortIndex, req: PageRequest, lo: int, hi: int) -> tuple[int, int]:
    """Cut the range [lo, hi) of ascending indices at the cursors (the result stays inside the range)."""
    a, b = lo, hi
    for cursor, is_after in ((req.after, True), (req.before, False)):
        if cursor is None:
            continue
        # "after" in S order is "above" in ascending order unless reversed
        above = is_after != req.reverse
        if above:
            a = max(a, index.bisect(*cursor, right=True))
        else:
            b = min(b, index.bisect(*cursor, right=False))
    a = min(a, hi)
    return a, max(a, b)


def paginate(
    index: SortIndex,
    req: PageRequest,
    *,
    low: int | None = None,
    high: int | None = None,
    predicate: Predicate | None = None,
) -> Page:
    """One page of the connection over `index` restricted to sort values in [low, high] (inclusive)."""
    lo = 0 if low is None else index.bisect_value(low, right=False)
    hi = len(index) if high is None else index.bisect_value(high, right=True)
    hi = max(lo, hi)
    a, b = _window(index, req, lo, hi)
    forward = not req.reverse  # S order runs upward in the ascending index
    if req.first is not None:
        picked = _scan(index, predicate, a, b, forward, req.first)
        if req.last is not None:
            picked = picked[len(picked) - req.last :] if req.last else []
        anchor = (a, a) if forward else (b, b)
    else:
        picked = _scan(index, predicate, a, b, not forward, req.last or 0)[::-1]
        anchor = (b, b) if forward else (a, a)
    # an empty page sits at the anchor; the (match-free or skipped) window then counts as before/after it
    span = (min(picked[0], picked[-1]), max(picked[0], picked[-1]) + 1) if picked else anchor
    below = bool(_scan(index, predicate, lo, span[0], False, 1))
    above = bool(_scan(index, predicate, span[1], hi, True, 1))
    has_previous, has_next = (below, above) if forward else (above, below)
    return Page(indices=picked, has_previous=has_previous, has_next=has_next)
