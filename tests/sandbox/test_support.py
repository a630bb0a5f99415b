"""Tests for the Re:amaze support world (sandbox.world.support) and its ground truth (sandbox.ground_truth_support)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sandbox import ground_truth_support as gts
from sandbox.world import support
from sandbox.world.generate import build_world

SYDNEY = "Australia/Sydney"
AS_OF = pd.Timestamp("2026-03-31T00:00:00Z")
TEMPLATE = "Hi {{customer.name}},\n\nYour refund for {{order.number}} is done.\n\n{{staff.name}}"
DIGEST_CONVERSATION = {"slug", "subject", "created_at", "status", "category", "tag_list", "author", "data",
                       "assignee", "message", "followers"}
DIGEST_MESSAGE = {"body", "created_at", "visibility", "origin_id", "user", "conversation", "recipients",
                  "attachments"}


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, dict[str, pd.DataFrame]]:
    world = build_world("tiny", 11)
    return world, support.simulate(11, world)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, pd.DataFrame], Path]:
    world = build_world("small", 5)
    tables = support.simulate(5, world)
    sheets = tmp_path_factory.mktemp("sheets")
    tables["sheet:support_targets"].to_csv(sheets / "support_targets.csv", index=False)
    return world, tables, sheets


def _local(text: str) -> pd.Timestamp:
    """A Sydney wall-clock time as a UTC timestamp."""
    return pd.Timestamp(text).tz_localize(SYDNEY).tz_convert("UTC")


def _world() -> SimpleNamespace:
    stores = pd.DataFrame({"store_id": ["lumen-au", "lumen-us"], "brand": ["Lumen", "Lumen"],
                           "timezone": [SYDNEY, "America/New_York"]})
    orders = pd.DataFrame({"order_id": [1, 2], "store_id": ["lumen-us", "lumen-au"]})
    return SimpleNamespace(stores=stores, orders=orders, meta={"as_of": AS_OF.isoformat()})


def _sheets(tmp_path: Path, target: float = 8.0) -> Path:
    pd.DataFrame([{"brand": "Lumen", "timezone": SYDNEY, "support_hours_start": "08:00",
                   "support_hours_end": "18:00", "frt_target_hours": target,
                   "template_required_categories": "refund;return"}]).to_csv(tmp_path / "support_targets.csv",
                                                                             index=False)
    return tmp_path


class _Builder:
    """Hand-built support tables: conversations, messages and status changes."""

    def __init__(self) -> None:
        self.conversations: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []

    def conversation(self, slug: str, created: pd.Timestamp, category: str = "refund",
                     tags: list[str] | None = None, order_id: int | None = 1) -> None:
        self.conversations.append({
            "slug": slug, "brand": "Lumen", "store_id": None, "subject": slug, "created_at": created,
            "category": category, "category_name": category, "channel": "email", "tag_list": tags or [],
            "data": "{}", "order_id": order_id, "author_contact_id": 1, "assignee_staff_id": 10,
            "kind": "issue", "true_cause": None,
        })
        self.status(slug, created, 0)
        self.message(slug, created, "customer")

    def message(self, slug: str, at: pd.Timestamp, kind: str, body: str = "Hi Ava, done.") -> None:
        staff = kind in {"staff", "note", "auto"}
        self.messages.append({
            "message_id": len(self.messages) + 1, "conversation_slug": slug, "created_at": at,
            "visibility": 1 if kind == "note" else 0, "body": body, "origin_id": 1 if kind == "auto" else None,
            "automated": kind == "auto", "user_staff_id": 10 if staff else None, "user_is_staff": staff,
            "user_name": "Agent" if staff else "Ava", "user_email": "x@example.com", "kind": kind,
        })

    def status(self, slug: str, at: pd.Timestamp, status: int) -> None:
        self.history.append({"change_id": len(self.history), "conversation_slug": slug, "changed_at": at,
                             "status": status})

    def tables(self) -> dict[str, pd.DataFrame]:
        conv = pd.DataFrame(self.conversations)
        conv["order_id"] = conv["order_id"].astype("Int64")
        templates = pd.DataFrame({"template_id": [1], "brand": ["Lumen"], "name": ["Refund"], "body": [TEMPLATE],
                                  "group_id": [1], "group_name": ["Refunds"], "category": ["refund"]})
        return {"conversations": conv, "messages": pd.DataFrame(self.messages),
                "conversation_status_history": pd.DataFrame(self.history), "response_templates": templates}


def _value(kpis: pd.DataFrame, metric: str, store_id: str | None = "lumen-us") -> Any:
    rows = kpis[(kpis["metric"] == metric) & (kpis["store_id"].isna() if store_id is None
                                              else kpis["store_id"] == store_id)]
    assert len(rows) == 1, rows
    return rows["value"].iloc[0]


# ------------------------------------------------------------------------------------------- generator


def test_simulate_is_deterministic_and_leaves_the_world_alone(tiny: tuple[Any, dict]) -> None:
    world, first = tiny
    orders_before = world.orders.copy()
    second = support.simulate(11, world)
    assert set(first) == set(second)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])
    pd.testing.assert_frame_equal(orders_before, world.orders)
    other = support.simulate(12, world)
    assert not other["messages"]["created_at"].equals(first["messages"]["created_at"])


def test_generated_tables_are_consistent(small: tuple[Any, dict, Path]) -> None:
    world, tables, _ = small
    conv, msgs = tables["conversations"], tables["messages"]
    assert conv["slug"].is_unique and msgs["message_id"].is_unique
    assert set(msgs["conversation_slug"]) <= set(conv["slug"])
    assert set(tables["conversation_status_history"]["status"]) <= set(range(9))
    issue = conv[conv["kind"] == "issue"]
    refunds = world.refunds.sort_values("created_at").groupby("order_id", as_index=False).first()
    linked = issue.merge(refunds, on="order_id", how="left", suffixes=("", "_refund"))
    assert linked["created_at_refund"].notna().all()
    assert (linked["created_at"] < linked["created_at_refund"]).any()  # some written before the refund
    tagged = issue[issue["tag_list"].map(lambda tags: any(t.startswith("cause-") for t in tags))]
    assert len(tagged) > 0
    assert all(f"cause-{c}" in tags for c, tags in zip(tagged["true_cause"], tagged["tag_list"]))
    assert (conv[conv["order_id"].notna()]["store_id"].to_numpy()
            == world.orders.set_index("order_id").loc[conv["order_id"].dropna().astype(int), "store_id"]
            .to_numpy()).all()


def test_staff_replies_fall_in_support_hours(small: tuple[Any, dict, Path]) -> None:
    _, tables, _ = small
    msgs = tables["messages"]
    targets = tables["sheet:support_targets"].set_index("brand")
    replies = msgs[msgs["kind"] == "staff"]
    inside = []
    for brand, group in replies.groupby("brand"):
        row = targets.loc[brand]
        local = group["created_at"].dt.tz_convert(row["timezone"])
        minutes = local.dt.hour * 60 + local.dt.minute
        start, end = (int(t[:2]) * 60 + int(t[3:]) for t in (row["support_hours_start"], row["support_hours_end"]))
        inside.append((local.dt.day_of_week < 5) & (minutes >= start) & (minutes <= end))
    assert pd.concat(inside).mean() > 0.98


def test_add_business_hours_skips_weekend_and_nights() -> None:
    friday_5pm = _local("2026-03-06 17:00")  # a Friday
    out = support.add_business_hours(np.array([friday_5pm.value // 1000]), np.array([2.0]), SYDNEY, "08:00",
                                     "18:00")
    assert pd.Timestamp(out[0], unit="us", tz="UTC") == _local("2026-03-09 09:00")


@pytest.mark.parametrize("brand", ["Lumen", "Threadline", "Hearth"])
def test_generator_and_ground_truth_business_clocks_agree(brand: str) -> None:
    row = next(t for t in support.SUPPORT_TARGETS if t[0] == brand)
    target = gts.SupportTarget(row[1], gts._clock_time(row[2]), gts._clock_time(row[3]), row[4], frozenset())
    rng = np.random.default_rng(1)
    # a year of starts, so DST changes in both hemispheres are crossed
    starts = pd.Timestamp("2026-01-01T00:00:00Z").value // 1000 + rng.integers(0, 365 * 86_400_000_000, 300)
    hours = rng.uniform(0, 40, size=300)
    ends = support.add_business_hours(starts, hours, row[1], row[2], row[3])
    for start, end, h in zip(starts, ends, hours):
        got = gts.business_hours_between(pd.Timestamp(start, unit="us", tz="UTC"),
                                         pd.Timestamp(end, unit="us", tz="UTC"), target)
        assert got == pytest.approx(h, abs=1e-3)


# ------------------------------------------------------------------------------------------- ground truth


def test_frt_counts_support_business_hours_across_a_weekend(tmp_path: Path) -> None:
    b = _Builder()
    b.conversation("fri", _local("2026-03-06 17:00"))  # Friday 17:00 -> Monday 09:00: 1 h + 1 h
    b.message("fri", _local("2026-03-09 09:00"), "staff")
    b.conversation("sat", _local("2026-03-07 10:00"))  # Saturday -> Monday 08:30: 0.5 h
    b.message("sat", _local("2026-03-09 08:30"), "staff")
    b.message("sat", _local("2026-03-07 10:00:30"), "auto")  # automated: not a first response
    kpis = gts.compute_kpis(_world(), b.tables(), _sheets(tmp_path))
    assert _value(kpis, "first_response_business_hours_p50") == pytest.approx(1.25)
    assert _value(kpis, "first_response_hours_p50") == pytest.approx((64 + 46.5) / 2)
    assert _value(kpis, "refund_ticket_first_response_business_hours_p50") == pytest.approx(1.25)
    assert _value(kpis, "frt_within_target_rate") == 1.0


def test_unanswered_conversation_counts_against_target_once_past_it(tmp_path: Path) -> None:
    b = _Builder()
    b.conversation("old", AS_OF - pd.Timedelta(days=10))
    b.conversation("new", AS_OF - pd.Timedelta(minutes=30))
    b.conversation("ok", AS_OF - pd.Timedelta(days=12))
    b.message("ok", AS_OF - pd.Timedelta(days=12) + pd.Timedelta(minutes=1), "staff")
    kpis = gts.compute_kpis(_world(), b.tables(), _sheets(tmp_path))
    assert _value(kpis, "frt_within_target_rate") == 0.5


def test_exchanges_stop_at_resolution_and_ignore_notes_and_automation(tmp_path: Path) -> None:
    t0 = _local("2026-03-02 09:00")
    b = _Builder()
    b.conversation("three", t0)
    for hour in (1, 2, 3):
        b.message("three", t0 + pd.Timedelta(hours=hour), "staff")
    b.message("three", t0 + pd.Timedelta(hours=4), "note")
    b.message("three", t0 + pd.Timedelta(hours=4, minutes=5), "auto")
    b.status("three", t0 + pd.Timedelta(hours=5), 2)
    b.message("three", t0 + pd.Timedelta(hours=6), "staff")  # after resolution: not an exchange
    b.conversation("four", t0, category="general", tags=["damaged"])
    for hour in (1, 2, 3, 4):
        b.message("four", t0 + pd.Timedelta(hours=hour), "staff")
    b.status("four", t0 + pd.Timedelta(hours=5), 6)
    b.conversation("open", t0)
    b.message("open", t0 + pd.Timedelta(hours=1), "staff")
    b.conversation("question", t0, category="general")  # not an issue ticket
    b.message("question", t0 + pd.Timedelta(hours=1), "staff")
    b.status("question", t0 + pd.Timedelta(hours=2), 2)
    kpis = gts.compute_kpis(_world(), b.tables(), _sheets(tmp_path))
    assert _value(kpis, "resolved_within_3_exchanges_rate") == 0.5
    early = gts.compute_kpis(_world(), b.tables(), _sheets(tmp_path), as_of=t0 + pd.Timedelta(hours=4, minutes=30))
    assert _value(early, "resolved_within_3_exchanges_rate") is None


def test_template_wildcard_match(tmp_path: Path) -> None:
    filled = support.fill_template(TEMPLATE, "Ava", "#1001", "Dana Quill")
    patterns = [gts.template_regex(TEMPLATE)]
    assert gts.uses_template(filled, patterns) and gts.uses_template(f"  {filled}\n", patterns)
    assert not gts.uses_template(filled + "\nAlso, thanks!", patterns)
    assert not gts.uses_template(filled.replace("is done.", "is done. Sorry!"), patterns)
    assert gts.uses_template(filled + " (Team Lead)", patterns)  # a placeholder absorbs the rest of its line
    assert not gts.uses_template(TEMPLATE.replace("{{customer.name}}", ""), patterns)
    assert support.matches_template(filled, [support.template_pattern(TEMPLATE)])
    b = _Builder()
    t0 = _local("2026-03-02 09:00")
    b.conversation("a", t0)
    b.message("a", t0 + pd.Timedelta(hours=1), "staff", body=filled)
    b.message("a", t0 + pd.Timedelta(hours=2), "staff", body="Hi Ava, sorted.")
    b.conversation("b", t0, category="general")  # category does not require a template
    b.message("b", t0 + pd.Timedelta(hours=1), "staff", body="Hi Ava, sorted.")
    kpis = gts.compute_kpis(_world(), b.tables(), _sheets(tmp_path))
    assert _value(kpis, "template_usage_rate") == 0.5


def test_conversation_without_order_belongs_to_brand_first_store(tmp_path: Path) -> None:
    b = _Builder()
    b.conversation("no-order", _local("2026-03-02 09:00"), order_id=None)
    b.conversation("order-2", _local("2026-03-02 09:00"), order_id=2)
    kpis = gts.compute_kpis(_world(), b.tables(), _sheets(tmp_path))
    assert set(kpis["store_id"].dropna()) == {"lumen-au"}
    assert set(kpis["period_start"].astype(str)) == {"2026-03-01"}
    assert len(kpis) == 2 * len(gts.SUPPORT_METRICS)


def test_conversation_causes_earliest_tag_wins() -> None:
    b = _Builder()
    b.conversation("late", _local("2026-03-03 09:00"), tags=["refund", "cause-wrong_item"])
    b.conversation("early", _local("2026-03-02 09:00"), tags=["cause-size_fit"])
    b.conversation("other", _local("2026-03-02 09:00"), tags=["cause-bogus"], order_id=2)
    b.conversation("none", _local("2026-03-02 09:00"), tags=["cause-fraud"], order_id=None)
    causes = gts.conversation_causes(b.tables(), codes={"wrong_item", "size_fit"})
    assert causes.to_dict("records") == [{"order_id": 1, "cause": "size_fit"}]
    at = gts.conversation_causes(b.tables(), as_of=_local("2026-03-01 00:00"))
    assert at.empty


def test_planted_agent_has_lowest_template_usage(small: tuple[Any, dict, Path]) -> None:
    world, tables, sheets = small
    usage = gts.agent_template_usage(world, tables, sheets).merge(tables["staff"], on="staff_id")
    usage = usage[usage["replies"] >= 20]
    planted = tables["staff"].loc[tables["staff"]["skips_templates"], "staff_id"].item()
    assert usage.sort_values("template_usage_rate")["staff_id"].iloc[0] == planted
    kpis = gts.compute_kpis(world, tables, sheets)
    assert set(kpis["metric"]) == set(gts.SUPPORT_METRICS)
    assert kpis["store_id"].isna().any()


# ------------------------------------------------------------------------------------------- clock and shapes


def test_at_clock_hides_the_future_and_derives_status(tiny: tuple[Any, dict]) -> None:
    _, tables = tiny
    history = tables["conversation_status_history"]
    resolved = history[history["status"] == 2].iloc[0]
    slug, done_at = resolved["conversation_slug"], resolved["changed_at"]
    before = support.at_clock(tables, done_at - pd.Timedelta(seconds=1))
    after = support.at_clock(tables, done_at)
    state_before = before["conversations"].set_index("slug").loc[slug]
    state_after = after["conversations"].set_index("slug").loc[slug]
    assert state_before["status"] != 2 and state_after["status"] == 2
    assert state_after["updated_at"] >= done_at
    assert (before["messages"]["created_at"] < done_at).all()
    assert (before["conversations"]["created_at"] < done_at).all()
    assert len(before["conversations"]) <= len(after["conversations"])


def test_api_shapes_follow_the_digest(tiny: tuple[Any, dict]) -> None:
    world, tables = tiny
    state = support.at_clock(tables, pd.Timestamp(world.meta["as_of"]))
    conv = state["conversations"].iloc[0]
    msgs = state["messages"][state["messages"]["conversation_slug"] == conv["slug"]]
    contacts = state["contacts"]
    author = contacts[contacts["contact_id"] == conv["author_contact_id"]].iloc[0]
    payload = support.api_conversation(conv, author, None, msgs.iloc[0])
    assert DIGEST_CONVERSATION <= set(payload)
    assert set(payload["category"]) == {"slug", "name", "channel"}
    assert isinstance(payload["tag_list"], list) and 0 <= payload["status"] <= 8
    message = support.api_message(msgs.iloc[0], conv)
    assert DIGEST_MESSAGE <= set(message) and {"name", "email", "staff?"} <= set(message["user"])
    assert set(support.api_staff(tables["staff"].iloc[0])) == {"id", "name", "email"}
    template = tables["response_templates"].iloc[0]
    assert {"template_id", "name", "body", "group_id", "group_name"} <= set(template.index)


def test_demo_support_generation_is_fast() -> None:
    world = build_world("demo", 3)
    started = time.perf_counter()
    support.simulate(3, world)
    assert time.perf_counter() - started < 10


def test_ground_truth_status_agrees_with_at_clock(tiny: tuple[Any, dict]) -> None:
    world, tables = tiny
    for as_of in (pd.Timestamp(world.meta["as_of"]), pd.Timestamp(world.meta["as_of"]) - pd.Timedelta(days=20)):
        state = support.at_clock(tables, as_of)["conversations"]
        status, _ = gts._status_at(tables["conversation_status_history"], as_of)
        assert dict(zip(state["slug"], state["status"])) == {s: status.get(s, 0) for s in state["slug"]}
