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
    return aware.tz_convert("UTC").to_numpy().astype("datetime64[us]").astype(np.int64)


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
    return stamps.dt.tz_convert("UTC").to_numpy().astype("datetime64[us]").astype(np.int64)


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


def _slugify(text: str) -> str:
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
    contacts["customer_id"] = contacts["customer_id"].where(is_cust[first], pd.NA)
    conv["author_contact_id"] = contacts["contact_id"].to_numpy()[codes]
    conv["author_name"] = name
    return contacts
