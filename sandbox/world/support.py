"""Re:amaze support per brand: staff, contacts, response templates, conversations, messages (see support.md).

`simulate(seed, world)` derives the support tables from the full-horizon base world with its own generator
(`np.random.default_rng([seed, 303])`), so the base world never changes. Conversations are simulated step by
step across all conversations at once (numpy masks), never with a Python loop per conversation; only the text
bodies are rendered with list comprehensions. `at_clock(tables, as_of)` gives the state the API shows at a clock.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from sandbox.world import World

US_PER_S = 1_000_000
US_PER_H = 3_600 * US_PER_S
US_PER_DAY = 24 * US_PER_H
# Monday 1970-01-05 00:00 as local wall-clock seconds since the epoch: weeks are counted from it.
MONDAY_REF_S = 4 * 86_400
WEEK_S = 7 * 86_400

# Re:amaze status codes (digest).
OPEN, PENDING, DONE, SPAM, ARCHIVED, ON_HOLD, AUTO_DONE, BOT_ASSIGNED, BOT_DONE = range(9)
ISSUE_CATEGORIES = ("refund", "return", "damaged", "lost", "late", "wrong-item", "chargeback")
CATEGORY_NAMES = {
    "refund": "Refunds", "return": "Returns", "damaged": "Damaged items", "lost": "Lost parcels",
    "late": "Late deliveries", "wrong-item": "Wrong item", "chargeback": "Chargebacks",
    "general": "General questions",
}
# true refund cause -> the category the customer writes under
CAUSE_CATEGORY = {
    "supplier_defect": "damaged", "wrong_item": "wrong-item", "not_as_described": "return",
    "size_fit": "return", "changed_mind": "return", "damaged_in_transit": "damaged",
    "lost_in_transit": "lost", "late_delivery": "late", "out_of_stock": "refund", "fraud": "chargeback",
    "duplicate_charge": "refund", "refund_process_failure": "refund",
}
SUBJECTS = {
    "refund": "Refund for order {order}", "return": "I'd like to return order {order}",
    "damaged": "Order {order} arrived damaged", "lost": "Where is order {order}?",
    "late": "Order {order} is late", "wrong-item": "Wrong item in order {order}",
    "chargeback": "Charge I don't recognise ({order})", "general": "Question about {thing}",
}

# (brand, support timezone, hours start, hours end, FRT target business hours, categories requiring a template,
#  median first-response delay in business hours, sends an email auto-acknowledgement)
SUPPORT_TARGETS: list[tuple[str, str, str, str, float, str, float, bool]] = [
    ("Lumen", "Australia/Sydney", "08:00", "18:00", 8.0, "refund;return;damaged;wrong-item", 2.5, True),
    ("Threadline", "Europe/London", "09:00", "17:00", 8.0, "refund;return;wrong-item", 5.0, False),
    ("Hearth", "America/Toronto", "09:00", "17:00", 16.0, "refund;damaged;lost", 9.0, True),
]
AGENTS = {
    "Lumen": ["Priya Shah", "Tom Becker", "Dana Quill", "Marco Silva"],
    "Threadline": ["Grace Okafor", "Liam Hughes", "Sofia Marin"],
    "Hearth": ["Ben Carter", "Chloe Martin", "Ravi Iyer"],
}
PLANTED_TEMPLATE_SKIPPER = ("Lumen", "Dana Quill")
TEMPLATE_USE_P = 0.8
PLANTED_TEMPLATE_USE_P = 0.08

# category -> (template name, group, body); every brand gets the same set, one template per category
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "refund": ("Refund processed", "Refunds",
               "Hi {{customer.name}},\n\nThanks for getting in touch about order {{order.number}}. We have "
               "processed your refund; it usually shows on your statement within 5-10 business days.\n\n"
               "Kind regards,\n{{staff.name}}"),
    "return": ("Return label", "Returns",
               "Hi {{customer.name}},\n\nSorry order {{order.number}} didn't work out. Your prepaid return "
               "label is attached; once the parcel reaches us we will process your refund.\n\n"
               "Best,\n{{staff.name}}"),
    "damaged": ("Damaged item", "Shipping",
                "Hi {{customer.name}},\n\nWe're so sorry the item in order {{order.number}} arrived damaged. "
                "Could you send a photo of the item and the box? We will make it right straight away.\n\n"
                "{{staff.name}}"),
    "lost": ("Lost parcel", "Shipping",
             "Hi {{customer.name}},\n\nWe have opened an investigation with the carrier for order "
             "{{order.number}}. If it doesn't turn up within 3 days we will send a replacement.\n\n"
             "{{staff.name}}"),
    "late": ("Late parcel", "Shipping",
             "Hi {{customer.name}},\n\nOrder {{order.number}} is on its way but running late. Here is the "
             "latest tracking update; thank you for your patience.\n\n{{staff.name}}"),
    "wrong-item": ("Wrong item", "Returns",
                   "Hi {{customer.name}},\n\nApologies, we sent the wrong item in order {{order.number}}. The "
                   "right one ships today and you can keep the other one.\n\n{{staff.name}}"),
    "chargeback": ("Unrecognised charge", "Refunds",
                   "Hi {{customer.name}},\n\nThe charge for order {{order.number}} is from our store. If you "
                   "would still like a refund please reply here rather than disputing it with your bank.\n\n"
                   "{{staff.name}}"),
    "general": ("General answer", "General",
                "Hi {{customer.name}},\n\nThanks for your question! You will find the details on our help "
                "page; let us know if anything else comes up.\n\n{{staff.name}}"),
}
FREE_REPLIES = [
    "Hi {name}, let me look into order {order} for you and get back shortly.",
    "Hey {name}! Sorted - I've taken care of {order}. Anything else?",
    "Hi {name}, sorry about that. I've passed {order} to the warehouse team, they'll be in touch.",
    "Thanks {name}. Quick one: can you confirm your address for {order}?",
    "Hi {name}, refund is on its way for {order}, cheers.",
]
CUSTOMER_FIRST = {
    "refund": "Hi, I still haven't received my refund for {order}. Can you check?",
    "return": "Hello, I want to send back {order}, it isn't what I expected.",
    "damaged": "My order {order} arrived broken. Very disappointed.",
    "lost": "Tracking for {order} hasn't moved for a week. Where is it?",
    "late": "{order} was supposed to be here days ago.",
    "wrong-item": "I received the wrong product in {order}.",
    "chargeback": "There is a charge on my card from you ({order}) that I don't recognise.",
    "general": "Hi, quick question about {thing}.",
    "spam": "Boost your store's SEO today!!! Reply for a free audit {thing}",
}
CUSTOMER_FOLLOW = ["Thanks, any update?", "Okay, here is the photo.", "Still waiting on this.",
                   "Great, thank you!", "That doesn't answer my question."]
INTERNAL_NOTES = ["Checked the order in Shopify, refund approved.", "Escalating to ops lead.",
                  "Photos received, supplier notified.", "approved_by:ops-lead"]
AUTO_ACK = "Thanks for contacting {brand}! We've received your message and will reply within {hours} business hours."
BOT_REPLY = "Hi! I'm the {brand} assistant. Here are some answers that might help: shipping, returns, sizing."
CSAT = "How did we do? Rate your conversation with {brand}."
THINGS = ["sizing", "shipping to Canada", "gift cards", "care instructions", "stock levels", "discount codes"]
AUTO_ORIGIN = {"auto_reply": 1, "chatbot": 2, "survey": 3}

_FRT_TARGET = {t[0]: t[4] for t in SUPPORT_TARGETS}
PLACEHOLDER = re.compile(r"\{\{\s*[^{}]+?\s*\}\}")


# ------------------------------------------------------------------------------------------ business hours


def _hhmm_s(text: str) -> int:
    """"08:30" -> seconds after midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 3_600 + int(minutes) * 60


def _local_seconds(utc_us: np.ndarray, tz: str) -> np.ndarray:
    """Local wall-clock seconds since the epoch (as if the local time were UTC) of UTC epoch microseconds."""
    local = pd.to_datetime(utc_us, unit="us", utc=True).tz_convert(tz).tz_localize(None)
    return local.to_numpy().astype("datetime64[s]").astype(np.int64)


def _business_clock(local_s: np.ndarray, open_s: int, close_s: int) -> np.ndarray:
    """Business seconds (Mon-Fri, [open, close) local) from the reference Monday up to each local time."""
    rel = local_s - MONDAY_REF_S
    weeks, rest = np.divmod(rel, WEEK_S)
    day, sec = np.divmod(rest, 86_400)
    span = close_s - open_s
    in_day = np.where(day < 5, np.clip(sec - open_s, 0, span), 0)
    return weeks * 5 * span + np.minimum(day, 5) * span + in_day


def _from_business_clock(clock_s: np.ndarray, open_s: int, close_s: int) -> np.ndarray:
    """Inverse of `_business_clock`: the earliest local time (seconds) at which the clock reaches `clock_s`."""
    span = close_s - open_s
    weeks, rest = np.divmod(clock_s, 5 * span)
    day, sec = np.divmod(rest, span)
    return MONDAY_REF_S + weeks * WEEK_S + day * 86_400 + open_s + sec


def _local_to_utc_us(local_s: np.ndarray, tz: str) -> np.ndarray:
    """Local wall-clock seconds -> UTC epoch microseconds (business hours never fall in a DST gap)."""
    naive = pd.to_datetime(local_s, unit="s")
    aware = naive.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return aware.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)


def add_business_hours(utc_us: np.ndarray, hours: np.ndarray, tz: str, start: str, end: str) -> np.ndarray:
    """UTC microseconds plus `hours` support business hours of the brand (Mon-Fri, start-end local)."""
    open_s, close_s = _hhmm_s(start), _hhmm_s(end)
    clock = _business_clock(_local_seconds(utc_us, tz), open_s, close_s)
    target = clock + np.round(hours * 3_600).astype(np.int64)
    return _local_to_utc_us(_from_business_clock(target, open_s, close_s), tz)


# ------------------------------------------------------------------------------------------ static tables


def support_targets(world: World) -> pd.DataFrame:
    """The `support_targets` sheet for the brands of the world."""
    brands = list(dict.fromkeys(world.stores["brand"]))
    rows = [t[:6] for t in SUPPORT_TARGETS if t[0] in brands]
    return pd.DataFrame(rows, columns=["brand", "timezone", "support_hours_start", "support_hours_end",
                                       "frt_target_hours", "template_required_categories"])


def _staff(brands: list[str]) -> pd.DataFrame:
    """Agents plus one automation user per brand."""
    rows = []
    for brand in brands:
        domain = f"{brand.lower()}.example.com"
        for name in AGENTS[brand]:
            rows.append((brand, name, f"{name.split()[0].lower()}@{domain}", "agent"))
        rows.append((brand, f"{brand} Bot", f"bot@{domain}", "automation"))
    df = pd.DataFrame(rows, columns=["brand", "name", "email", "role"])
    df.insert(0, "staff_id", np.arange(61_000, 61_000 + len(df), dtype=np.int64))
    df["api_token"] = "rmz_sandbox_" + df["brand"].str.lower() + "_" + df["staff_id"].astype(str)
    df["skips_templates"] = [(b, n) == PLANTED_TEMPLATE_SKIPPER for b, n in zip(df["brand"], df["name"])]
    return df


def _templates(brands: list[str]) -> pd.DataFrame:
    """One template per category per brand; group ids are per brand and group name."""
    rows = []
    for brand in brands:
        for category, (name, group, body) in TEMPLATES.items():
            rows.append((brand, category, name, group, body))
    df = pd.DataFrame(rows, columns=["brand", "category", "name", "group_name", "body"])
    df.insert(0, "template_id", np.arange(71_000, 71_000 + len(df), dtype=np.int64))
    group_key = df["brand"] + "/" + df["group_name"]
    df["group_id"] = (pd.factorize(group_key)[0] + 81_000).astype(np.int64)
    return df[["template_id", "brand", "name", "body", "group_id", "group_name", "category"]]


def fill_template(body: str, customer: str, order: str, staff: str) -> str:
    """Replace the sandbox placeholders of a template body."""
    return (body.replace("{{customer.name}}", customer).replace("{{order.number}}", order)
            .replace("{{staff.name}}", staff))


def template_pattern(body: str) -> re.Pattern[str]:
    """The wildcard regex of a template body: placeholders match 1+ characters without a line break."""
    parts = PLACEHOLDER.split(body.strip())
    return re.compile("[^\\n]+".join(re.escape(p) for p in parts))


def matches_template(body: str, patterns: list[re.Pattern[str]]) -> bool:
    """True when the stripped body fully matches any template pattern."""
    text = body.strip()
    return any(p.fullmatch(text) for p in patterns)


# ------------------------------------------------------------------------------------------ conversations


def _us(stamps: pd.Series) -> np.ndarray:
    """tz-aware timestamps -> int64 UTC epoch microseconds."""
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)


def _issue_tickets(rng: np.random.Generator, orders: pd.DataFrame, refunds: pd.DataFrame) -> pd.DataFrame:
    """Tickets about orders that get a refund: category from true_cause, written before or after the refund."""
    first = refunds.sort_values(["created_at", "refund_id"]).groupby("order_id", sort=False).head(1)
    first = first[rng.random(len(first)) < 0.65].reset_index(drop=True)
    order_created = orders.loc[first["order_id"], "created_us"].to_numpy()
    refund_us = _us(first["created_at"])
    before = rng.random(len(first)) < 0.6
    early = refund_us - rng.integers(US_PER_H, 72 * US_PER_H, size=len(first))
    late = refund_us + rng.integers(10 * 60 * US_PER_S, 48 * US_PER_H, size=len(first))
    created = np.where(before, np.maximum(early, order_created + 600 * US_PER_S), late)
    return pd.DataFrame({
        "order_id": first["order_id"].to_numpy(),
        "kind": "issue",
        "category": first["true_cause"].map(CAUSE_CATEGORY).fillna("refund").to_numpy(),
        "true_cause": first["true_cause"].to_numpy(),
        "created_us": created,
    })


def _general_tickets(rng: np.random.Generator, orders: pd.DataFrame) -> pd.DataFrame:
    """General questions from buyers: some about an order (order number in data), some not."""
    picked = orders[rng.random(len(orders)) < 0.025]
    n = len(picked)
    with_order = rng.random(n) < 0.6
    created = picked["created_us"].to_numpy() + rng.integers(US_PER_H, 20 * US_PER_DAY, size=n)
    return pd.DataFrame({
        "order_id": pd.array(np.where(with_order, picked.index.to_numpy(), 0), dtype="Int64"),
        "kind": "general",
        "category": "general",
        "true_cause": None,
        "created_us": created,
        "customer_order": picked.index.to_numpy(),
    }).assign(order_id=lambda d: d["order_id"].where(with_order, pd.NA))


def _spam_tickets(rng: np.random.Generator, orders: pd.DataFrame, start_us: int, end_us: int) -> pd.DataFrame:
    """Spam: about 0.4 % of the order volume per brand, spread evenly, no order."""
    counts = orders.groupby("brand").size()
    brands = np.repeat(counts.index.to_numpy(), rng.poisson(counts.to_numpy() * 0.004))
    return pd.DataFrame({
        "order_id": pd.array([pd.NA] * len(brands), dtype="Int64"),
        "kind": "spam",
        "category": "general",
        "true_cause": None,
        "created_us": rng.integers(start_us, end_us, size=len(brands)),
        "brand": brands,
    })


def _nullable(values: np.ndarray, keep: np.ndarray) -> pd.Series:
    """int64 values as a nullable Int64 column, NA where `keep` is False."""
    return pd.Series(values, dtype="Int64").where(keep)


def _slugify(text: str) -> str:
    """Lower-case words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _base_conversations(rng: np.random.Generator, world: World) -> pd.DataFrame:
    """Every conversation (issue, general, spam) with brand, store, order and creation time; sorted by time."""
    brand_of = dict(zip(world.stores["store_id"], world.stores["brand"]))
    orders = world.orders.set_index("order_id")
    orders = orders.assign(created_us=_us(orders["created_at"]), brand=orders["store_id"].map(brand_of))
    start_us = int(_us(world.orders["created_at"]).min())
    end_us = int(pd.Timestamp(world.meta["horizon_end"]).value // 1000)
    issue = _issue_tickets(rng, orders, world.refunds)
    issue["customer_order"] = issue["order_id"]
    general = _general_tickets(rng, orders)
    spam = _spam_tickets(rng, orders, start_us, end_us)
    conv = pd.concat([issue, general, spam], ignore_index=True)
    conv["order_id"] = conv["order_id"].astype("Int64")
    cust_order = conv["customer_order"].astype("Int64")
    has_cust = cust_order.notna().to_numpy()
    lookup = cust_order.fillna(orders.index[0]).to_numpy(dtype=np.int64)
    conv.loc[has_cust, "brand"] = orders.loc[lookup[has_cust], "brand"].to_numpy()
    first_store = world.stores.groupby("brand", sort=False)["store_id"].first()
    has_order = conv["order_id"].notna().to_numpy()
    order_lookup = conv["order_id"].fillna(orders.index[0]).to_numpy(dtype=np.int64)
    conv["store_id"] = np.where(has_order, orders.loc[order_lookup, "store_id"].to_numpy(),
                                conv["brand"].map(first_store).to_numpy())
    conv["order_name"] = np.where(has_order, orders.loc[order_lookup, "name"].to_numpy(), None)
    conv["customer_id"] = np.where(has_cust, orders.loc[lookup, "customer_id"].to_numpy(), -1)
    conv = conv[conv["created_us"] <= end_us]
    conv = conv.sort_values(["created_us", "kind"], kind="stable").reset_index(drop=True)
    return conv.drop(columns=["customer_order"])


def _contacts(rng: np.random.Generator, world: World, conv: pd.DataFrame) -> pd.DataFrame:
    """One contact per brand and e-mail address that wrote; spam senders get made-up addresses."""
    customers = world.customers.set_index("customer_id")
    is_cust = conv["customer_id"].to_numpy() >= 0
    ids = conv["customer_id"].to_numpy()
    email = np.empty(len(conv), dtype=object)
    name = np.empty(len(conv), dtype=object)
    known = customers.loc[ids[is_cust]]
    email[is_cust] = known["email"].to_numpy()
    name[is_cust] = (known["first_name"] + " " + known["last_name"]).to_numpy()
    spam_no = rng.integers(100, 999, size=(~is_cust).sum())
    email[~is_cust] = [f"growth.team{k}@seo-boost.example.net" for k in spam_no]
    name[~is_cust] = "SEO Growth Team"
    key = pd.Series(conv["brand"].to_numpy() + "|" + email)
    codes, uniques = pd.factorize(key)
    first = pd.Series(np.arange(len(conv))).groupby(codes).first().to_numpy()
    contacts = pd.DataFrame({
        "contact_id": np.arange(41_000_000, 41_000_000 + len(uniques), dtype=np.int64),
        "brand": conv["brand"].to_numpy()[first],
        "name": name[first],
        "email": email[first],
        "customer_id": pd.array(np.where(is_cust[first], ids[first], 0), dtype="Int64"),
        "created_at": pd.to_datetime(conv["created_us"].to_numpy()[first], unit="us", utc=True),
    })
    contacts["customer_id"] = contacts["customer_id"].where(is_cust[first])
    conv["author_contact_id"] = contacts["contact_id"].to_numpy()[codes]
    conv["author_name"] = name
    return contacts


class _Events:
    """Accumulates messages and status changes as arrays (one append per simulation step)."""

    def __init__(self) -> None:
        self.messages: list[pd.DataFrame] = []
        self.statuses: list[pd.DataFrame] = []

    def message(self, conv: np.ndarray, at_us: np.ndarray, kind: str, step: int) -> None:
        """Record messages of one kind for conversations `conv` at `at_us`."""
        self.messages.append(pd.DataFrame({"conv": conv, "created_us": at_us, "kind": kind, "step": step}))

    def status(self, conv: np.ndarray, at_us: np.ndarray, status: int) -> None:
        """Record a status change for conversations `conv` at `at_us`."""
        self.statuses.append(pd.DataFrame({"conv": conv, "changed_us": at_us, "status": status}))


def _brand_params(conv: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-conversation support settings of its brand."""
    table = {t[0]: t for t in SUPPORT_TARGETS}
    brand = conv["brand"].to_numpy()
    return {
        "median_frt": np.array([table[b][6] for b in brand]),
        "target": np.array([table[b][4] for b in brand]),
        "auto_ack": np.array([table[b][7] for b in brand]),
    }


def _add_bh(conv: pd.DataFrame, idx: np.ndarray, at_us: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Add support business hours per conversation, brand by brand."""
    out = np.empty(len(idx), dtype=np.int64)
    brands = conv["brand"].to_numpy()[idx]
    for brand, tz, start, end, *_ in SUPPORT_TARGETS:
        mask = brands == brand
        if mask.any():
            out[mask] = add_business_hours(at_us[mask], hours[mask], tz, start, end)
    return out


def _opening(rng: np.random.Generator, conv: pd.DataFrame, ev: _Events) -> np.ndarray:
    """First customer message, auto-ack, spam marking and chatbot; returns when staff work starts (or -1)."""
    n = len(conv)
    idx = np.arange(n)
    t0 = conv["created_us"].to_numpy()
    kind = conv["kind"].to_numpy()
    chat = conv["channel"].to_numpy() == "chat"
    ev.message(idx, t0, "customer", 0)
    spam = kind == "spam"
    ev.status(idx[spam], t0[spam], OPEN)
    ev.status(idx[spam], t0[spam] + rng.integers(5, 240, size=spam.sum()) * 60 * US_PER_S, SPAM)
    ack = ~spam & ~chat & _brand_params(conv)["auto_ack"]
    ev.message(idx[ack], t0[ack] + 30 * US_PER_S, "auto_reply", 0)
    ev.status(idx[~spam & ~chat], t0[~spam & ~chat], OPEN)
    ev.message(idx[chat], t0[chat] + 5 * US_PER_S, "chatbot", 0)
    ev.status(idx[chat], t0[chat], BOT_ASSIGNED)
    bot_done = chat & conv["bot_resolved"].to_numpy()
    handoff = chat & ~bot_done
    ev.status(idx[bot_done], t0[bot_done] + 120 * US_PER_S, BOT_DONE)
    ev.status(idx[handoff], t0[handoff] + 120 * US_PER_S, OPEN)
    start = np.where(handoff, t0 + 120 * US_PER_S, t0)
    return np.where(spam | bot_done, -1, start)


def _exchanges(rng: np.random.Generator, conv: pd.DataFrame, start: np.ndarray, ev: _Events) -> np.ndarray:
    """Staff replies alternating with customer follow-ups; returns the last staff reply time (-1 if none)."""
    n_replies = conv["n_replies"].to_numpy()
    median_frt = _brand_params(conv)["median_frt"]
    t = start.copy()
    last = np.full(len(conv), -1, dtype=np.int64)
    for step in range(int(n_replies.max(initial=0))):
        idx = np.flatnonzero((n_replies > step) & (start >= 0))
        median = median_frt[idx] if step == 0 else np.full(idx.size, 3.0)
        delay = np.exp(np.log(median) + rng.normal(0, 1.0, size=idx.size))
        reply = _add_bh(conv, idx, t[idx], delay)
        reply = np.maximum(reply, t[idx] + 60 * US_PER_S)
        note = rng.random(idx.size) < (0.3 if step == 0 else 0.1)
        note_at = np.maximum(reply - rng.integers(60, 1_800, size=idx.size) * US_PER_S, t[idx] + US_PER_S)
        ev.message(idx[note], note_at[note], "note", step)
        ev.message(idx, reply, "staff", step)
        ev.status(idx, reply, PENDING)
        last[idx] = reply
        more = n_replies[idx] > step + 1
        follow = reply + rng.exponential(8 * US_PER_H, size=idx.size).astype(np.int64) + 600 * US_PER_S
        ev.message(idx[more], follow[more], "customer", step + 1)
        ev.status(idx[more], follow[more], OPEN)
        t[idx] = follow
    return last


def _resolution(rng: np.random.Generator, conv: pd.DataFrame, last: np.ndarray, ev: _Events) -> None:
    """Done (2) soon after the last reply, auto-done (6) 72 h later, on hold (5) or left pending; CSAT survey."""
    idx = np.flatnonzero(last >= 0)
    roll = rng.random(idx.size)
    done, auto, hold = roll < 0.65, (roll >= 0.65) & (roll < 0.9), (roll >= 0.9) & (roll < 0.95)
    at_done = last[idx] + rng.integers(60, 3_600, size=idx.size) * US_PER_S
    at_auto = last[idx] + 72 * US_PER_H
    ev.status(idx[done], at_done[done], DONE)
    ev.status(idx[auto], at_auto[auto], AUTO_DONE)
    ev.status(idx[hold], last[idx][hold] + US_PER_H, ON_HOLD)
    resolved_at = np.where(done, at_done, at_auto)
    survey = (done | auto) & (rng.random(idx.size) < 0.5)
    ev.message(idx[survey], resolved_at[survey] + US_PER_H, "survey", 99)


def _plan(rng: np.random.Generator, conv: pd.DataFrame, staff: pd.DataFrame) -> None:
    """Channel, chatbot outcome, assignee and number of staff replies of every conversation (in place)."""
    n = len(conv)
    kind = conv["kind"].to_numpy()
    conv["channel"] = np.where((kind == "general") & (rng.random(n) < 0.3), "chat", "email")
    conv["bot_resolved"] = (conv["channel"] == "chat").to_numpy() & (rng.random(n) < 0.7)
    issue_n = rng.choice([1, 2, 3, 4, 5, 6], size=n, p=[0.22, 0.3, 0.2, 0.13, 0.09, 0.06])
    general_n = rng.choice([1, 2], size=n, p=[0.75, 0.25])
    conv["n_replies"] = np.where(kind == "issue", issue_n, np.where(kind == "general", general_n, 0))
    conv.loc[conv["bot_resolved"], "n_replies"] = 0
    agents = staff[staff["role"] == "agent"]
    assignee = np.zeros(n, dtype=np.int64)
    for brand, group in agents.groupby("brand"):
        mask = conv["brand"].to_numpy() == brand
        assignee[mask] = rng.choice(group["staff_id"].to_numpy(), size=mask.sum())
    conv["assignee_staff_id"] = _nullable(assignee, conv["n_replies"].to_numpy() > 0)


def _tags_and_subjects(rng: np.random.Generator, conv: pd.DataFrame) -> None:
    """Category (some issue tickets filed under general but tagged), tag_list, subject (in place)."""
    n = len(conv)
    kind = conv["kind"].to_numpy()
    issue_cat = conv["category"].to_numpy().copy()
    conv["topic"] = issue_cat
    misfiled = (kind == "issue") & (rng.random(n) < 0.1)
    cause_tag = (kind == "issue") & (rng.random(n) < 0.3)
    conv["category"] = np.where(misfiled, "general", issue_cat)
    causes = conv["true_cause"].to_numpy()
    conv["tag_list"] = [
        ([c] if k == "issue" else []) + ([f"cause-{tc}"] if ct else [])
        for k, c, tc, ct in zip(kind, issue_cat, causes, cause_tag)
    ]
    things = rng.choice(THINGS, size=n)
    conv["subject"] = [
        SUBJECTS[c].format(order=o if isinstance(o, str) else "", thing=th) if k != "spam" else "Grow your sales 10x"
        for k, c, o, th in zip(kind, issue_cat, conv["order_name"], things)
    ]


def _pick_templates(rng: np.random.Generator, msgs: pd.DataFrame, c: pd.DataFrame, staff: pd.DataFrame,
                    templates: pd.DataFrame) -> np.ndarray:
    """Template id used by each staff reply (0 = free text): the topic's template, with the agent's habit."""
    p_use = np.where(staff["skips_templates"], PLANTED_TEMPLATE_USE_P, TEMPLATE_USE_P)
    p_of = pd.Series(p_use, index=staff["staff_id"].to_numpy())
    assignee = c["assignee_staff_id"].fillna(0).to_numpy(dtype=np.int64)
    draw = rng.random(len(msgs))
    uses = (msgs["kind"].to_numpy() == "staff") & (draw < p_of.reindex(assignee).fillna(0.0).to_numpy())
    key = pd.MultiIndex.from_arrays([c["brand"].to_numpy(), c["topic"].to_numpy()])
    tmpl = templates.set_index(["brand", "category"])["template_id"].reindex(key).to_numpy()
    return np.where(uses, tmpl, 0).astype(np.int64)


def _text(kind: str, brand: str, customer: str, order: str, staff_name: str, template: str | None,
          free: str, follow: str, note: str) -> str:
    """The body of one message other than a conversation's opening message."""
    if kind == "staff":
        return (fill_template(template, customer, order, staff_name) if template
                else free.format(name=customer, order=order))
    texts = {
        "customer": follow,
        "note": note,
        "auto_reply": AUTO_ACK.format(brand=brand, hours=int(_FRT_TARGET[brand])),
        "chatbot": BOT_REPLY.format(brand=brand),
        "survey": CSAT.format(brand=brand),
    }
    return texts[kind]


def _bodies(rng: np.random.Generator, msgs: pd.DataFrame, c: pd.DataFrame, staff: pd.DataFrame,
            templates: pd.DataFrame, tmpl_id: np.ndarray) -> np.ndarray:
    """Message bodies: opening messages by topic, templates filled, free replies, follow-ups, notes, bots."""
    n = len(msgs)
    name_of = dict(zip(staff["staff_id"].tolist(), staff["name"]))
    tmpl_body = dict(zip(templates["template_id"].tolist(), templates["body"]))
    assignee = c["assignee_staff_id"].fillna(0).to_numpy(dtype=np.int64).tolist()
    customers = [str(name).split()[0] for name in c["author_name"]]
    orders = [o if isinstance(o, str) else "your order" for o in c["order_name"]]
    free, follow = rng.choice(FREE_REPLIES, size=n), rng.choice(CUSTOMER_FOLLOW, size=n)
    notes, things = rng.choice(INTERNAL_NOTES, size=n), rng.choice(THINGS, size=n)
    bodies = np.array([
        _text(k, b, cu, o, name_of.get(a, ""), tmpl_body.get(t), fr, fo, no)
        for k, b, cu, o, a, t, fr, fo, no in zip(msgs["kind"].tolist(), c["brand"].tolist(), customers, orders,
                                                  assignee, tmpl_id.tolist(), free.tolist(), follow.tolist(),
                                                  notes.tolist())
    ], dtype=object)
    first = np.flatnonzero((msgs["kind"].to_numpy() == "customer") & (msgs["step"].to_numpy() == 0))
    spam = c["kind"].to_numpy() == "spam"
    topic = c["topic"].to_numpy()
    order_names = c["order_name"].to_numpy()
    bodies[first] = [
        CUSTOMER_FIRST["spam" if spam[i] else topic[i]].format(
            order=order_names[i] if isinstance(order_names[i], str) else "my order", thing=things[i])
        for i in first
    ]
    return bodies


def _render_bodies(rng: np.random.Generator, msgs: pd.DataFrame, conv: pd.DataFrame, staff: pd.DataFrame,
                   templates: pd.DataFrame) -> None:
    """Body, template, visibility, automation flag and author ids of every message (in place)."""
    c = conv.iloc[msgs["conv"].to_numpy()]
    kind = msgs["kind"].to_numpy()
    tmpl_id = _pick_templates(rng, msgs, c, staff, templates)
    msgs["body"] = _bodies(rng, msgs, c, staff, templates, tmpl_id)
    automated = np.isin(kind, list(AUTO_ORIGIN))
    bot_of = staff[staff["role"] == "automation"].set_index("brand")["staff_id"]
    assignee = c["assignee_staff_id"].fillna(0).to_numpy(dtype=np.int64)
    staff_id = np.where(np.isin(kind, ["staff", "note"]), assignee,
                        np.where(automated, c["brand"].map(bot_of).to_numpy(), 0))
    msgs["template_id"] = _nullable(tmpl_id, tmpl_id > 0)
    msgs["visibility"] = np.where(kind == "note", 1, 0).astype(np.int64)
    msgs["automated"] = automated
    msgs["origin_id"] = _nullable(np.array([AUTO_ORIGIN.get(k, 0) for k in kind]), automated)
    msgs["user_staff_id"] = _nullable(staff_id, staff_id > 0)
    msgs["user_contact_id"] = _nullable(c["author_contact_id"].to_numpy(), kind == "customer")


def _user_columns(msgs: pd.DataFrame, staff: pd.DataFrame, contacts: pd.DataFrame) -> None:
    """user_name, user_email and user_is_staff from the staff or contact the message is from (in place)."""
    s = staff.set_index("staff_id")
    k = contacts.set_index("contact_id")
    is_staff = msgs["user_staff_id"].notna().to_numpy()
    sid = msgs["user_staff_id"].fillna(s.index[0]).to_numpy(dtype=np.int64)
    cid = msgs["user_contact_id"].fillna(k.index[0]).to_numpy(dtype=np.int64)
    msgs["user_name"] = np.where(is_staff, s.loc[sid, "name"].to_numpy(), k.loc[cid, "name"].to_numpy())
    msgs["user_email"] = np.where(is_staff, s.loc[sid, "email"].to_numpy(), k.loc[cid, "email"].to_numpy())
    msgs["user_is_staff"] = is_staff


MESSAGE_COLUMNS = ["message_id", "conversation_slug", "brand", "created_at", "visibility", "body", "origin_id",
                   "automated", "user_staff_id", "user_contact_id", "user_name", "user_email", "user_is_staff",
                   "kind", "template_id"]
CONVERSATION_COLUMNS = ["slug", "brand", "store_id", "subject", "created_at", "category", "category_name",
                        "channel", "tag_list", "data", "order_id", "author_contact_id", "assignee_staff_id",
                        "kind", "true_cause"]


def _finish_conversations(conv: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """Slugs, category names, `data` JSON and column order."""
    domain = dict(zip(stores["store_id"], stores["shop_domain"]))
    conv["slug"] = [f"{_slugify(s)[:40].strip('-')}-{i + 1:06d}" for i, s in enumerate(conv["subject"])]
    conv["category_name"] = conv["category"].map(CATEGORY_NAMES)
    conv["data"] = [json.dumps({"order_number": o, "shop_domain": domain[s]}) if isinstance(o, str) else "{}"
                    for o, s in zip(conv["order_name"], conv["store_id"])]
    conv["created_at"] = pd.to_datetime(conv["created_us"].to_numpy(), unit="us", utc=True)
    conv["true_cause"] = conv["true_cause"].where(conv["kind"] == "issue", None)
    return conv[CONVERSATION_COLUMNS]


def simulate(seed: int, world: World) -> dict[str, pd.DataFrame]:
    """The support tables of a full-horizon world (see sandbox/world/support.md), deterministic in `seed`."""
    rng = np.random.default_rng([seed, 303])
    brands = [b for b in dict.fromkeys(world.stores["brand"])]
    staff = _staff(brands)
    templates = _templates(brands)
    conv = _base_conversations(rng, world)
    contacts = _contacts(rng, world, conv)
    _plan(rng, conv, staff)
    _tags_and_subjects(rng, conv)
    ev = _Events()
    start = _opening(rng, conv, ev)
    last = _exchanges(rng, conv, start, ev)
    _resolution(rng, conv, last, ev)
    horizon = int(pd.Timestamp(world.meta["horizon_end"]).value // 1000)
    msgs = pd.concat(ev.messages, ignore_index=True)
    msgs = msgs[msgs["created_us"] <= horizon].sort_values(["created_us", "conv"], kind="stable")
    msgs = msgs.reset_index(drop=True)
    _render_bodies(rng, msgs, conv, staff, templates)
    _user_columns(msgs, staff, contacts)
    conversations = _finish_conversations(conv, world.stores)
    msgs["message_id"] = np.arange(91_000_000_000, 91_000_000_000 + len(msgs), dtype=np.int64)
    msgs["conversation_slug"] = conversations["slug"].to_numpy()[msgs["conv"].to_numpy()]
    msgs["brand"] = conversations["brand"].to_numpy()[msgs["conv"].to_numpy()]
    msgs["created_at"] = pd.to_datetime(msgs["created_us"].to_numpy(), unit="us", utc=True)
    statuses = pd.concat(ev.statuses, ignore_index=True)
    statuses = statuses[statuses["changed_us"] <= horizon].sort_values(["changed_us", "conv"], kind="stable")
    history = pd.DataFrame({
        "conversation_slug": conversations["slug"].to_numpy()[statuses["conv"].to_numpy()],
        "changed_at": pd.to_datetime(statuses["changed_us"].to_numpy(), unit="us", utc=True),
        "status": statuses["status"].to_numpy().astype(np.int64),
    })
    history.insert(0, "change_id", np.arange(len(history), dtype=np.int64))
    return {
        "staff": staff,
        "contacts": contacts,
        "response_templates": templates,
        "conversations": conversations,
        "conversation_status_history": history,
        "messages": msgs[MESSAGE_COLUMNS],
        "sheet:support_targets": support_targets(world),
    }


# ------------------------------------------------------------------------------------------ the clock


def status_at(history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per conversation slug: the status and time of the last status change at or before `as_of`."""
    seen = history[history["changed_at"] <= as_of].sort_values(["changed_at", "change_id"])
    last = seen.groupby("conversation_slug", sort=False).tail(1)
    return last.set_index("conversation_slug")[["status", "changed_at"]]


def at_clock(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The support tables as the API shows them at `as_of`.

    Conversations, messages, status changes and contacts created after the clock are dropped. Conversations get
    `status` (the last status change at or before the clock), `updated_at` (the latest status change or message
    at or before the clock) and `last_customer_message_at`. Staff, templates and sheets are unchanged.
    """
    as_of = pd.Timestamp(as_of)
    conv = tables["conversations"]
    conv = conv[conv["created_at"] <= as_of].copy()
    msgs = tables["messages"]
    msgs = msgs[(msgs["created_at"] <= as_of) & msgs["conversation_slug"].isin(conv["slug"])]
    history = tables["conversation_status_history"]
    history = history[history["changed_at"] <= as_of]
    state = status_at(history, as_of)
    last_msg = msgs.groupby("conversation_slug")["created_at"].max()
    customer = msgs[~msgs["user_is_staff"]].groupby("conversation_slug")["created_at"].max()
    conv["status"] = conv["slug"].map(state["status"]).fillna(OPEN).astype(np.int64)
    changed = conv["slug"].map(state["changed_at"])
    conv["updated_at"] = pd.concat([conv["created_at"], changed, conv["slug"].map(last_msg)], axis=1).max(axis=1)
    conv["last_customer_message_at"] = conv["slug"].map(customer)
    contacts = tables["contacts"]
    out = dict(tables)
    out.update({
        "conversations": conv.reset_index(drop=True),
        "messages": msgs.reset_index(drop=True),
        "conversation_status_history": history.reset_index(drop=True),
        "contacts": contacts[contacts["created_at"] <= as_of].reset_index(drop=True),
    })
    return out


# ------------------------------------------------------------------------------------------ API shapes


def _iso(stamp: pd.Timestamp) -> str:
    """ISO 8601 UTC with milliseconds and a Z suffix."""
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def api_staff(row: pd.Series) -> dict:
    """A staff user as `GET /staff` shows it."""
    return {"id": int(row["staff_id"]), "name": row["name"], "email": row["email"]}


def api_contact(row: pd.Series) -> dict:
    """A contact as `GET /contacts` and a conversation's `author` show it."""
    return {"id": int(row["contact_id"]), "name": row["name"], "email": row["email"], "data": {}}


def api_message(row: pd.Series, conversation: pd.Series) -> dict:
    """A message row of `at_clock` tables rendered in the digest's shape."""
    return {
        "body": row["body"],
        "created_at": _iso(row["created_at"]),
        "visibility": int(row["visibility"]),
        "origin_id": None if pd.isna(row["origin_id"]) else int(row["origin_id"]),
        "user": {"name": row["user_name"], "email": row["user_email"], "staff?": bool(row["user_is_staff"])},
        "conversation": {"slug": conversation["slug"], "subject": conversation["subject"]},
        "recipients": [],
        "attachments": [],
    }


def api_conversation(row: pd.Series, author: pd.Series, assignee: pd.Series | None,
                     first_message: pd.Series | None) -> dict:
    """A conversation row of `at_clock` tables rendered in the digest's shape."""
    return {
        "slug": row["slug"],
        "subject": row["subject"],
        "created_at": _iso(row["created_at"]),
        "status": int(row["status"]),
        "category": {"slug": row["category"], "name": row["category_name"], "channel": row["channel"]},
        "tag_list": list(row["tag_list"]),
        "author": api_contact(author),
        "data": json.loads(row["data"]),
        "assignee": None if assignee is None else api_staff(assignee),
        "message": None if first_message is None else {"body": first_message["body"],
                                                        "created_at": _iso(first_message["created_at"])},
        "followers": [],
    }
