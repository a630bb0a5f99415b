"""Declared schema of every ops sheet: column → type, and the key that must be unique."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SheetSpec:
    columns: dict[str, str]  # name → type: str | int | decimal | date | bool | currency | hhmm | timezone
    key: tuple[str, ...]


SHEETS: dict[str, SheetSpec] = {
    "stores": SheetSpec(
        {"store_id": "str", "brand": "str", "market": "str", "shop_domain": "str", "currency": "currency",
         "timezone": "timezone", "order_cutoff_local": "hhmm", "business_days": "str"},
        ("store_id",),
    ),
    "sku_catalog": SheetSpec(
        {"sku": "str", "product_title": "str", "supplier_id": "str?", "unit_cogs": "decimal?",
         "cogs_currency": "currency?"},
        ("sku",),
    ),
    "suppliers": SheetSpec({"supplier_id": "str", "name": "str", "dispatch_sla_business_days": "int"},
                           ("supplier_id",)),
    "refund_causes": SheetSpec({"code": "str", "label": "str", "owner": "str", "preventable_default": "bool"},
                               ("code",)),
    "fx_rates": SheetSpec({"date": "date", "currency": "currency", "rate_to_usd": "decimal"}, ("date", "currency")),
    "kpi_targets": SheetSpec({"metric": "str", "target": "decimal", "direction": "str"}, ("metric",)),
    "support_targets": SheetSpec(
        {"brand": "str", "timezone": "timezone", "support_hours_start": "hhmm", "support_hours_end": "hhmm",
         "frt_target_hours": "decimal", "template_required_categories": "str"},
        ("brand",),
    ),
    "holidays": SheetSpec({"store_id": "str?", "market": "str", "date": "date", "name": "str"},
                          ("store_id", "market", "date")),
    "carriers": SheetSpec(
        {"carrier": "str", "carrier_name": "str", "market": "str", "service": "str", "transit_sla_days": "int",
         "guaranteed": "bool", "claim_window_days": "int", "currency": "currency", "label_cost": "decimal"},
        ("carrier", "market", "service"),
    ),
    "carrier_claims": SheetSpec(
        {"claim_id": "str", "store_id": "str", "order_name": "str", "tracking_number": "str", "carrier": "str",
         "claim_type": "str", "filed_date": "date", "claimed_amount": "decimal", "currency": "currency",
         "status": "str", "paid_date": "date?", "paid_amount": "decimal?"},
        ("claim_id",),
    ),
    "supplier_transit_sla": SheetSpec({"supplier_id": "str", "market": "str", "transit_sla_days": "int"},
                                      ("supplier_id", "market")),
    "refund_decision_matrix": SheetSpec(
        {"cause": "str", "value_band": "str", "min_order_value": "decimal", "max_order_value": "decimal?",
         "first_choice": "str", "allowed": "str"},
        ("cause", "value_band"),
    ),
    "approval_limits": SheetSpec({"staff": "str", "name": "str", "role": "str", "max_amount": "decimal",
                                  "currency": "currency"}, ("staff",)),
    "shipping_labels": SheetSpec(
        {"label_id": "int", "provider": "str", "store_id": "str", "order_name": "str", "shipment_date": "date",
         "direction": "str", "carrier": "str", "service": "str", "tracking_number": "str", "return_name": "str?",
         "cost": "decimal", "currency": "currency"},
        ("label_id",),
    ),
    "supplier_credits": SheetSpec(
        {"credit_id": "str", "supplier_id": "str", "store_id": "str", "order_name": "str", "sku": "str",
         "issued_date": "date", "amount": "decimal", "currency": "currency"},
        ("credit_id",),
    ),
}
