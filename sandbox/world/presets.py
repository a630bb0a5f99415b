"""Scale presets and the fixed cast of the simulated portfolio (stores, suppliers, causes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    store_count: int
    days: int
    orders_per_store_day: float
    skus_per_brand: int
    customers: int


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", store_count=2, days=75, orders_per_store_day=8, skus_per_brand=12, customers=400),
    "small": Preset("small", store_count=4, days=90, orders_per_store_day=30, skus_per_brand=25, customers=3000),
    "demo": Preset("demo", store_count=6, days=120, orders_per_store_day=60, skus_per_brand=40, customers=20000),
    "large": Preset("large", store_count=6, days=365, orders_per_store_day=460, skus_per_brand=400,
                    customers=400000),
}

# (store_id, brand, market, currency, timezone, order_cutoff_local)
STORES: list[tuple[str, str, str, str, str, str]] = [
    ("lumen-au", "Lumen", "AU", "AUD", "Australia/Sydney", "14:00"),
    ("lumen-us", "Lumen", "US", "USD", "America/New_York", "15:00"),
    ("threadline-uk", "Threadline", "UK", "GBP", "Europe/London", "13:00"),
    ("hearth-ca", "Hearth", "CA", "CAD", "America/Toronto", "14:00"),
    ("lumen-uk", "Lumen", "UK", "GBP", "Europe/London", "14:00"),
    ("threadline-us", "Threadline", "US", "USD", "America/Los_Angeles", "12:00"),
]

# Brand → product words for titles, price band in USD cents.
BRANDS: dict[str, tuple[list[str], int, int]] = {
    "Lumen": (["Pendant", "Floor Lamp", "Wall Sconce", "Table Lamp", "Chandelier", "Bulb Set"], 4_000, 90_000),
    "Threadline": (["Linen Shirt", "Wool Coat", "Denim Jacket", "Silk Scarf", "Chinos", "Knit Sweater"],
                   2_500, 30_000),
    "Hearth": (["Throw Blanket", "Ceramic Vase", "Oak Tray", "Candle Set", "Cushion Cover"], 1_500, 20_000),
}

# (supplier_id, name, dispatch SLA business days, COGS currency)
SUPPLIERS: list[tuple[str, str, int, str]] = [
    ("sup-shenzhen-optics", "Shenzhen Optics Co.", 3, "CNY"),
    ("sup-nordic-glass", "Nordic Glass AB", 2, "USD"),
    ("sup-porto-textiles", "Porto Textiles Lda", 4, "USD"),
    ("sup-melbourne-makers", "Melbourne Makers", 2, "AUD"),
    ("sup-leeds-home", "Leeds Home Goods", 3, "GBP"),
]
PLANTED_DEFECT_SUPPLIER = "sup-shenzhen-optics"

# (code, label, owner, preventable_default, base weight of true causes)
CAUSES: list[tuple[str, str, str, bool, float]] = [
    ("supplier_defect", "Supplier defect", "supplier", True, 0.16),
    ("wrong_item", "Wrong item sent", "warehouse", True, 0.08),
    ("not_as_described", "Not as described", "listing", True, 0.08),
    ("size_fit", "Size or fit", "listing", True, 0.10),
    ("changed_mind", "Changed mind", "customer", False, 0.20),
    ("damaged_in_transit", "Damaged in transit", "carrier", True, 0.10),
    ("lost_in_transit", "Lost in transit", "carrier", True, 0.07),
    ("late_delivery", "Late delivery", "carrier", True, 0.07),
    ("out_of_stock", "Out of stock", "warehouse", True, 0.05),
    ("fraud", "Fraud", "payments", False, 0.03),
    ("duplicate_charge", "Duplicate charge", "payments", True, 0.03),
    ("refund_process_failure", "Refund process failure", "support", True, 0.03),
    ("unknown", "Unknown (untagged)", "support", False, 0.0),
]

CURRENCIES: dict[str, float] = {"USD": 1.0, "AUD": 0.65, "GBP": 1.27, "CAD": 0.73, "CNY": 0.14}

KPI_TARGETS: list[tuple[str, float, str]] = [
    ("refund_cost_pct_of_profit", 0.05, "max"),
    ("preventable_share", 0.50, "max"),
    ("cause_coverage", 0.95, "min"),
]
