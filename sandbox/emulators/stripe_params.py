"""Query parameters of the Stripe list/retrieve endpoints: parsing, validation and paging over a `Listing`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sandbox.emulators.stripe_errors import (
    both_cursors,
    invalid_integer,
    limit_out_of_range,
    no_such,
    unknown_parameter,
)
from sandbox.emulators.stripe_world import Listing

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
CREATED_OPS = ("gt", "gte", "lt", "lte")
_ARRAY_PARAM = re.compile(r"^(?P<name>expand|types)\[\d*\]$")
_CREATED_PARAM = re.compile(r"^created\[(?P<op>[a-z]+)\]$")


@dataclass(frozen=True)
class ListParams:
    """A validated list request."""

    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None
    created: tuple[tuple[str, int], ...] = ()
    expand: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


def _integer(param: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise invalid_integer(param, raw) from None


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    value = _integer("limit", raw)
    if not 1 <= value <= MAX_LIMIT:
        raise limit_out_of_range(value)
    return value


def parse_expand(items: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The `expand[]` / `expand[N]` values of a query (retrieve endpoints take nothing else)."""
    out = []
    for key, value in items:
        match = _ARRAY_PARAM.match(key)
        if match is None or match["name"] != "expand":
            raise unknown_parameter(key)
        out.append(value)
    return tuple(out)


def parse_list(items: Iterable[tuple[str, str]], *, allow_types: bool) -> ListParams:
    """Validate a list query: limit, cursors, created bounds (`created` = exact, `created[op]`), expand, types."""
    single: dict[str, str] = {}
    created: dict[str, int] = {}
    expand: list[str] = []
    types: list[str] = []
    for key, value in items:
        array = _ARRAY_PARAM.match(key)
        bound = _CREATED_PARAM.match(key)
        if array is not None and (array["name"] == "expand" or allow_types):
            (expand if array["name"] == "expand" else types).append(value)
        elif bound is not None and bound["op"] in CREATED_OPS:
            created[bound["op"]] = _integer(key, value)
        elif key == "created":
            created["gte"] = created["lte"] = _integer(key, value)
        elif key in ("limit", "starting_after", "ending_before") or (key == "type" and allow_types):
            single[key] = value
        else:
            raise unknown_parameter(key)
    if "starting_after" in single and "ending_before" in single:
        raise both_cursors()
    if "type" in single:
        types.append(single["type"])
    return ListParams(limit=_limit(single.get("limit")), starting_after=single.get("starting_after") or None,
                      ending_before=single.get("ending_before") or None,
                      created=tuple(sorted(created.items())), expand=tuple(expand), types=tuple(types))


def _rank(listing: Listing, full: Listing, object_id: str) -> int:
    """Position of `object_id` in `listing`, or where it would sort when the listing lacks it (the cursor of a
    type-filtered event page may be an event of another type); ordering: created desc, id desc."""
    position = listing.position.get(object_id)
    if position is not None:
        return position
    created = int(full.created[full.position[object_id]])
    start = int(np.searchsorted(-listing.created, -created, side="left"))
    end = int(np.searchsorted(-listing.created, -created, side="right"))
    return start + sum(1 for other in listing.ids[start:end] if other > object_id)


def page_bounds(listing: Listing, full: Listing, params: ListParams, object_name: str) -> tuple[int, int, bool]:
    """(start, end, has_more) of the page of `listing` that `params` asks for.

    `full` is the unfiltered listing in which cursors must exist (an event cursor of another type than the
    `type` filter still positions the page); an unknown cursor is Stripe's `resource_missing`.
    """
    lo, hi = listing.created_range(dict(params.created))
    cursor = params.starting_after or params.ending_before
    if cursor is not None and cursor not in full.position:
        param = "starting_after" if params.starting_after else "ending_before"
        raise no_such(object_name, cursor, param)
    if params.starting_after is not None:
        after = params.starting_after
        start = max(_rank(listing, full, after) + (1 if after in listing.position else 0), lo)
        end = min(start + params.limit, hi)
        return start, max(start, end), end < hi
    if params.ending_before is not None:
        end = min(_rank(listing, full, params.ending_before), hi)
        start = max(lo, end - params.limit)
        return start, max(start, end), start > lo
    end = min(lo + params.limit, hi)
    return lo, end, end < hi
