"""Ground truth for Re:amaze support quality (METRICS.md §9) and the conversation cause channel (§3).

Independent of `sandbox.world.support` and of the dbt models: it reads the simulated support tables (full
horizon), derives the state at the clock itself from `conversation_status_history`, reads `support_targets.csv`
from the sheets directory, and applies the "Metric rules" of `sandbox/world/support.md`:

- a conversation belongs to the store of its order (`order_id`), or to the first store of its brand in the
  `stores` table when it has no order; it is bucketed by the local month (store timezone) of `created_at`;
- public staff reply = visibility 0, from a staff user, not automated;
- support business hours = Mon-Fri, [start, end) of the brand's local support hours (no holidays);
- percentiles are continuous (numpy 'linear' = DuckDB quantile_cont); hours are decimal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sandbox.ground_truth import KPI_COLUMNS

SUPPORT_METRICS = [
    "first_response_hours_p50",
    "first_response_business_hours_p50",
    "frt_within_target_rate",
    "refund_ticket_first_response_business_hours_p50",
    "resolved_within_3_exchanges_rate",
    "template_usage_rate",
]
ISSUE_SET = frozenset({"refund", "return", "damaged", "lost", "late", "wrong-item", "chargeback"})
SPAM = 3
RESOLVED = frozenset({2, 6})
NO_FRT = frozenset({3, 7, 8})  # spam, chatbot assigned, chatbot resolved: no human first response owed
CAUSE_TAG = "cause-"
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")


# --------------------------------------------------------------------------------------------- sheet


@dataclass(frozen=True)
class SupportTarget:
    """One brand's row of `support_targets.csv`."""

    timezone: str
    start: time
    end: time
    frt_target_hours: float
    template_required: frozenset[str]


def _clock_time(text: str) -> time:
    """"08:30" -> time(8, 30)."""
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def load_support_targets(sheets_dir: Path) -> dict[str, SupportTarget]:
    """brand -> SupportTarget from `support_targets.csv` (categories separated by ';')."""
    frame = pd.read_csv(Path(sheets_dir) / "support_targets.csv", dtype=str, keep_default_na=False)
    return {
        row.brand.strip(): SupportTarget(
            timezone=row.timezone.strip(),
            start=_clock_time(row.support_hours_start),
            end=_clock_time(row.support_hours_end),
            frt_target_hours=float(row.frt_target_hours),
            template_required=frozenset(c.strip() for c in row.template_required_categories.split(";") if c.strip()),
        )
        for row in frame.itertuples(index=False)
    }


# --------------------------------------------------------------------------------------------- clocks


def business_hours_between(start: pd.Timestamp, end: pd.Timestamp, target: SupportTarget) -> float:
    """Support business hours from `start` to `end` (0 when end <= start), day by day in local wall-clock time."""
    if end <= start:
        return 0.0
    zone = ZoneInfo(target.timezone)
    local_start = start.to_pydatetime().astimezone(zone).replace(tzinfo=None)
    local_end = end.to_pydatetime().astimezone(zone).replace(tzinfo=None)
    total = 0.0
    day = local_start.date()
    while day <= local_end.date():
        if day.weekday() < 5:
            window_start = datetime.combine(day, target.start)
            window_end = datetime.combine(day, target.end)
            lo, hi = max(window_start, local_start), min(window_end, local_end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total / 3600


def template_regex(body: str) -> re.Pattern[str]:
    """Template body as a full-match regex: each `{{...}}` matches one or more non-newline characters."""
    pieces = _PLACEHOLDER.split(body.strip())
    return re.compile("^" + "[^\\n]+".join(re.escape(piece) for piece in pieces) + "$")


def uses_template(body: str, patterns: list[re.Pattern[str]]) -> bool:
    """True when the stripped reply body matches one of the patterns in full."""
    stripped = str(body).strip()
    return any(pattern.match(stripped) is not None for pattern in patterns)


# --------------------------------------------------------------------------------------------- state


def _as_of(world: Any, as_of: pd.Timestamp | None) -> pd.Timestamp:
    """The clock: `as_of` when given, else `world.meta["as_of"]`, as UTC."""
    stamp = pd.Timestamp(as_of if as_of is not None else world.meta["as_of"])
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _status_at(history: pd.DataFrame, as_of: pd.Timestamp) -> tuple[dict[str, int], dict[str, pd.Timestamp]]:
    """slug -> status at the clock, and slug -> time it entered that status (last change <= clock)."""
    seen = history[history["changed_at"] <= as_of].sort_values(["changed_at", "change_id"], kind="stable")
    status: dict[str, int] = {}
    since: dict[str, pd.Timestamp] = {}
    for slug, value, changed in zip(seen["conversation_slug"], seen["status"], seen["changed_at"]):
        status[slug] = int(value)
        since[slug] = changed
    return status, since


def _store_of(world: Any, conversations: pd.DataFrame) -> list[str]:
    """Store of the conversation's order, else the brand's first store in `stores`."""
    order_store = dict(zip(world.orders["order_id"], world.orders["store_id"]))
    first_store: dict[str, str] = {}
    for store_id, brand in zip(world.stores["store_id"], world.stores["brand"]):
        first_store.setdefault(brand, store_id)
    return [
        order_store[int(order)] if not pd.isna(order) else first_store[brand]
        for order, brand in zip(conversations["order_id"], conversations["brand"])
    ]


def _is_issue(tags: Any, category: str) -> bool:
    """Issue ticket by category or tags (spam is excluded by the callers through the status)."""
    tag_list = [str(t) for t in (tags if tags is not None else [])]
    return category in ISSUE_SET or any(t in ISSUE_SET or t.startswith(CAUSE_TAG) for t in tag_list)


@dataclass
class _Conversation:
    """One conversation as the metrics need it, at the clock."""

    slug: str
    brand: str
    store_id: str
    period_start: date
    created_at: pd.Timestamp
    category: str
    issue: bool
    status: int
    resolved_at: pd.Timestamp | None
    replies: list[tuple[pd.Timestamp, str]]  # public staff replies at or before the clock, by time


def _conversations(world: Any, support: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> list[_Conversation]:
    """Every conversation created at or before the clock with its state and public staff replies."""
    conv = support["conversations"]
    conv = conv[conv["created_at"] <= as_of].reset_index(drop=True)
    status, since = _status_at(support["conversation_status_history"], as_of)
    msgs = support["messages"]
    public = msgs[(msgs["created_at"] <= as_of) & (msgs["visibility"] == 0) & msgs["user_is_staff"].astype(bool)
                  & ~msgs["automated"].astype(bool)].sort_values(["created_at", "message_id"])
    replies: dict[str, list[tuple[pd.Timestamp, str]]] = {}
    for slug, created, body in zip(public["conversation_slug"], public["created_at"], public["body"]):
        replies.setdefault(slug, []).append((created, body))
    tz = dict(zip(world.stores["store_id"], world.stores["timezone"]))
    result = []
    for row, store_id in zip(conv.itertuples(index=False), _store_of(world, conv)):
        state = status.get(row.slug, 0)
        local_day = row.created_at.tz_convert(tz[store_id]).date()
        result.append(_Conversation(
            slug=row.slug, brand=row.brand, store_id=store_id, period_start=local_day.replace(day=1),
            created_at=row.created_at, category=row.category, issue=_is_issue(row.tag_list, row.category),
            status=state, resolved_at=since.get(row.slug) if state in RESOLVED else None,
            replies=replies.get(row.slug, []),
        ))
    return result


# --------------------------------------------------------------------------------------------- buckets


@dataclass
class _Bucket:
    """Accumulated figures of one store-month (or portfolio month)."""

    frt_hours: list[float]
    frt_business: list[float]
    issue_frt_business: list[float]
    within_target: int = 0
    target_denominator: int = 0
    resolved_issue: int = 0
    resolved_within_3: int = 0
    required_replies: int = 0
    template_replies: int = 0

    @classmethod
    def empty(cls) -> _Bucket:
        """A bucket with nothing in it."""
        return cls([], [], [])

    def merge(self, other: _Bucket) -> None:
        """Add another bucket's figures (pooled, for the portfolio)."""
        self.frt_hours += other.frt_hours
        self.frt_business += other.frt_business
        self.issue_frt_business += other.issue_frt_business
        self.within_target += other.within_target
        self.target_denominator += other.target_denominator
        self.resolved_issue += other.resolved_issue
        self.resolved_within_3 += other.resolved_within_3
        self.required_replies += other.required_replies
        self.template_replies += other.template_replies


def _add_frt(bucket: _Bucket, conv: _Conversation, target: SupportTarget, as_of: pd.Timestamp) -> None:
    """First-response figures of one conversation (skipped for spam and chatbot-held conversations)."""
    if conv.status in NO_FRT:
        return
    if conv.replies:
        first = conv.replies[0][0]
        business = business_hours_between(conv.created_at, first, target)
        bucket.frt_hours.append((first - conv.created_at).total_seconds() / 3600)
        bucket.frt_business.append(business)
        if conv.issue:
            bucket.issue_frt_business.append(business)
        bucket.target_denominator += 1
        bucket.within_target += business <= target.frt_target_hours
    elif business_hours_between(conv.created_at, as_of, target) > target.frt_target_hours:
        bucket.target_denominator += 1


def _add_resolution(bucket: _Bucket, conv: _Conversation) -> None:
    """Resolved issue tickets and whether they took at most 3 public staff replies up to resolution."""
    if not conv.issue or conv.status not in RESOLVED or conv.resolved_at is None:
        return
    exchanges = sum(1 for created, _ in conv.replies if created <= conv.resolved_at)
    bucket.resolved_issue += 1
    bucket.resolved_within_3 += exchanges <= 3


def _add_templates(bucket: _Bucket, conv: _Conversation, target: SupportTarget,
                   patterns: list[re.Pattern[str]]) -> None:
    """Public staff replies in template-required categories, and how many match a template."""
    if conv.status == SPAM or conv.category not in target.template_required:
        return
    for _, body in conv.replies:
        bucket.required_replies += 1
        bucket.template_replies += uses_template(body, patterns)


def _patterns(support: dict[str, pd.DataFrame]) -> dict[str, list[re.Pattern[str]]]:
    """brand -> wildcard patterns of its response templates."""
    templates = support["response_templates"]
    result: dict[str, list[re.Pattern[str]]] = {}
    for brand, body in zip(templates["brand"], templates["body"]):
        result.setdefault(brand, []).append(template_regex(body))
    return result


def _p50(values: list[float]) -> float | None:
    """Continuous median (numpy linear = quantile_cont), None when empty."""
    return float(np.percentile(np.array(values, dtype=float), 50, method="linear")) if values else None


def _ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, None when the denominator is zero."""
    return None if denominator == 0 else numerator / denominator


def _bucket_rows(store_id: str | None, period_start: date, bucket: _Bucket) -> list[tuple[Any, ...]]:
    """The six support kpis rows of one bucket."""
    values = {
        "first_response_hours_p50": _p50(bucket.frt_hours),
        "first_response_business_hours_p50": _p50(bucket.frt_business),
        "frt_within_target_rate": _ratio(bucket.within_target, bucket.target_denominator),
        "refund_ticket_first_response_business_hours_p50": _p50(bucket.issue_frt_business),
        "resolved_within_3_exchanges_rate": _ratio(bucket.resolved_within_3, bucket.resolved_issue),
        "template_usage_rate": _ratio(bucket.template_replies, bucket.required_replies),
    }
    return [(metric, store_id, period_start, "month", None, None, values[metric]) for metric in SUPPORT_METRICS]


def compute_kpis(world: Any, support: dict[str, pd.DataFrame], sheets_dir: Path,
                 as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Support `kpis` rows (long format) per store × local month of created_at, and for the portfolio.

    Rows exist for each store-month with at least one conversation created at or before the clock (spam
    included), and a portfolio row (store_id None) for each month of the union; every metric is emitted,
    with value None when its population is empty.
    """
    clock = _as_of(world, as_of)
    targets = load_support_targets(Path(sheets_dir))
    patterns = _patterns(support)
    stores: dict[tuple[str, date], _Bucket] = {}
    for conv in _conversations(world, support, clock):
        bucket = stores.setdefault((conv.store_id, conv.period_start), _Bucket.empty())
        target = targets[conv.brand]
        _add_frt(bucket, conv, target, clock)
        _add_resolution(bucket, conv)
        _add_templates(bucket, conv, target, patterns.get(conv.brand, []))
    portfolio: dict[date, _Bucket] = {}
    for (_, period_start), bucket in sorted(stores.items()):
        portfolio.setdefault(period_start, _Bucket.empty()).merge(bucket)
    rows: list[tuple[Any, ...]] = []
    for (store_id, period_start), bucket in sorted(stores.items()):
        rows.extend(_bucket_rows(store_id, period_start, bucket))
    for period_start, bucket in sorted(portfolio.items()):
        rows.extend(_bucket_rows(None, period_start, bucket))
    return pd.DataFrame(rows, columns=KPI_COLUMNS, dtype=object).astype(object)


def agent_template_usage(world: Any, support: dict[str, pd.DataFrame], sheets_dir: Path,
                         as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per staff user: public replies in template-required categories, template matches and the rate."""
    clock = _as_of(world, as_of)
    targets = load_support_targets(Path(sheets_dir))
    patterns = _patterns(support)
    conv = support["conversations"].set_index("slug")
    msgs = support["messages"]
    public = msgs[(msgs["created_at"] <= clock) & (msgs["visibility"] == 0) & msgs["user_is_staff"].astype(bool)
                  & ~msgs["automated"].astype(bool)]
    counts: dict[int, list[int]] = {}
    for slug, staff_id, body in zip(public["conversation_slug"], public["user_staff_id"], public["body"]):
        brand, category = conv.at[slug, "brand"], conv.at[slug, "category"]
        if category not in targets[brand].template_required:
            continue
        tally = counts.setdefault(int(staff_id), [0, 0])
        tally[0] += 1
        tally[1] += uses_template(body, patterns.get(brand, []))
    rows = [(staff_id, n, k, _ratio(k, n)) for staff_id, (n, k) in sorted(counts.items())]
    return pd.DataFrame(rows, columns=["staff_id", "replies", "template_replies", "template_usage_rate"])


def conversation_causes(support: dict[str, pd.DataFrame], as_of: pd.Timestamp | None = None,
                        codes: set[str] | None = None) -> pd.DataFrame:
    """(order_id, cause) from conversations tagged `cause-<code>` (the third cause channel of METRICS §3).

    Only conversations created at or before `as_of` (all when None) with an order count; when `codes` is given,
    only tags naming one of them. An order's cause is taken from its earliest such conversation (created_at,
    then slug); within a conversation the first such tag in `tag_list` wins.
    """
    conv = support["conversations"]
    if as_of is not None:
        conv = conv[conv["created_at"] <= pd.Timestamp(as_of)]
    conv = conv[conv["order_id"].notna()].sort_values(["created_at", "slug"])
    causes: dict[int, str] = {}
    for order_id, tags in zip(conv["order_id"], conv["tag_list"]):
        found = [str(t)[len(CAUSE_TAG):] for t in (tags if tags is not None else []) if str(t).startswith(CAUSE_TAG)]
        found = [c for c in found if codes is None or c in codes]
        if found and int(order_id) not in causes:
            causes[int(order_id)] = found[0]
    return pd.DataFrame(sorted(causes.items()), columns=["order_id", "cause"])
