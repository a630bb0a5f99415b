"""Constants of the Shopify Admin GraphQL source."""

from pathlib import Path

API_VERSION = "2026-07"
ORDERS_PAGE_SIZE = 8  # keeps the page query under the single-query cost limit (bulk.ORDERS_PAGE)
DEFAULT_START = "2000-01-01T00:00:00Z"
# Re-read this many seconds before the last cursor: late-indexed edits are never missed.
LOOKBACK_SECONDS = 3600
QUERY_DIR = Path(__file__).parent / "queries"

# Declared columns of each raw table: typed, and present even when every value of a load is null.
def _money() -> dict:
    """A fresh hint per column: dlt writes the column name into the dict it is given."""
    return {"data_type": "decimal", "precision": 18, "scale": 2}



TABLE_COLUMNS: dict[str, dict[str, dict]] = {
    "orders": {
        "id": {"data_type": "text", "nullable": False}, "store_id": {"data_type": "text", "nullable": False},
        "name": {"data_type": "text"}, "created_at": {"data_type": "timestamp"},
        "updated_at": {"data_type": "timestamp"}, "processed_at": {"data_type": "timestamp"},
        "cancelled_at": {"data_type": "timestamp"}, "cancel_reason": {"data_type": "text"},
        "tags": {"data_type": "text"}, "note": {"data_type": "text"}, "email": {"data_type": "text"},
        "currency_code": {"data_type": "text"}, "test": {"data_type": "bool"}, "customer_id": {"data_type": "text"},
        "shipping_amount": _money(), "shipping_currency": {"data_type": "text"},
    },
    "order_line_items": {
        "id": {"data_type": "text", "nullable": False}, "order_id": {"data_type": "text"},
        "store_id": {"data_type": "text"}, "sku": {"data_type": "text"}, "title": {"data_type": "text"},
        "quantity": {"data_type": "bigint"}, "unit_price_amount": _money(), "total_discount_amount": _money(),
        "currency": {"data_type": "text"},
    },
    "order_transactions": {
        "id": {"data_type": "text", "nullable": False}, "order_id": {"data_type": "text"},
        "store_id": {"data_type": "text"}, "refund_id": {"data_type": "text"}, "kind": {"data_type": "text"},
        "status": {"data_type": "text"}, "gateway": {"data_type": "text"}, "created_at": {"data_type": "timestamp"},
        "processed_at": {"data_type": "timestamp"}, "payment_id": {"data_type": "text"},
        "error_code": {"data_type": "text"}, "parent_transaction_id": {"data_type": "text"}, "amount": _money(),
        "currency": {"data_type": "text"},
    },
    "refunds": {
        "id": {"data_type": "text", "nullable": False}, "order_id": {"data_type": "text"},
        "store_id": {"data_type": "text"}, "created_at": {"data_type": "timestamp"},
        "updated_at": {"data_type": "timestamp"}, "note": {"data_type": "text"},
        "total_refunded_amount": _money(), "currency": {"data_type": "text"},
        "staff_member_id": {"data_type": "text"}, "staff_member_name": {"data_type": "text"},
    },
    "refund_line_items": {
        "id": {"data_type": "text", "nullable": False}, "refund_id": {"data_type": "text"},
        "order_id": {"data_type": "text"}, "store_id": {"data_type": "text"},
        "line_item_id": {"data_type": "text"}, "quantity": {"data_type": "bigint"},
        "restock_type": {"data_type": "text"}, "subtotal_amount": _money(), "currency": {"data_type": "text"},
    },
    "returns": {
        "id": {"data_type": "text", "nullable": False}, "order_id": {"data_type": "text"},
        "store_id": {"data_type": "text"}, "name": {"data_type": "text"}, "status": {"data_type": "text"},
        "created_at": {"data_type": "timestamp"}, "request_approved_at": {"data_type": "timestamp"},
        "received_at": {"data_type": "timestamp"}, "closed_at": {"data_type": "timestamp"},
        "total_quantity": {"data_type": "bigint"}, "reverse_fulfillment_order_status": {"data_type": "text"},
    },
    "return_line_items": {
        "id": {"data_type": "text", "nullable": False}, "return_id": {"data_type": "text"},
        "order_id": {"data_type": "text"}, "store_id": {"data_type": "text"}, "line_item_id": {"data_type": "text"},
        "fulfillment_line_item_id": {"data_type": "text"}, "quantity": {"data_type": "bigint"},
        "return_reason": {"data_type": "text"}, "return_reason_handle": {"data_type": "text"},
        "customer_note": {"data_type": "text"}, "received_at": {"data_type": "timestamp"},
        "disposition_type": {"data_type": "text"},
    },
    "store_credit_transactions": {
        "id": {"data_type": "text", "nullable": False}, "store_id": {"data_type": "text"},
        "account_id": {"data_type": "text"}, "customer_id": {"data_type": "text"}, "order_id": {"data_type": "text"},
        "origin_transaction_id": {"data_type": "text"}, "amount": _money(), "currency": {"data_type": "text"},
        "created_at": {"data_type": "timestamp"}, "expires_at": {"data_type": "timestamp"},
        "issued_by_staff_id": {"data_type": "text"}, "issued_by_name": {"data_type": "text"},
        "note": {"data_type": "text"},
    },
}
