"""Constants of the Stripe v1 source: endpoints, page size, look-back and the declared raw columns."""

API_BASE_URL = "https://api.stripe.com"
PAGE_SIZE = 100  # Stripe's maximum `limit`
BATCH_ROWS = 5000  # rows per table handed to dlt at once
# Re-read objects created this many seconds before the last cursor (same-second ties, clock skew).
OVERLAP_SECONDS = 3600
# Event types that announce a change to an object created earlier than the cursor.
CHANGE_EVENT_TYPES = ("charge.refunded", "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
                      "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated")
DISPUTE_CLOSED_EVENT = "charge.dispute.closed"
# Dispute statuses that can still change: re-fetched on every run until they close.
OPEN_DISPUTE_STATUSES = frozenset({"needs_response", "under_review", "warning_needs_response",
                                   "warning_under_review"})
# Endpoint per raw table, in extraction order.
ENDPOINTS = {
    "charges": "/v1/charges",
    "refunds": "/v1/refunds",
    "disputes": "/v1/disputes",
    "balance_transactions": "/v1/balance_transactions",
    "payment_intents": "/v1/payment_intents",
}


def _text(nullable: bool = True) -> dict:
    return {"data_type": "text", "nullable": nullable}


def _cents() -> dict:
    """Integer minor units, as Stripe sends them (fresh dict per column: dlt writes into it)."""
    return {"data_type": "bigint"}


def _ts() -> dict:
    return {"data_type": "timestamp"}


def _flag() -> dict:
    return {"data_type": "bool"}


def _tagged(columns: dict[str, dict]) -> dict[str, dict]:
    """Every table: `id` and the account it came from."""
    return {"id": _text(False), "account_id": _text(False), "brand": _text(False), **columns}


TABLE_COLUMNS: dict[str, dict[str, dict]] = {
    "charges": _tagged({
        "created": _ts(), "amount": _cents(), "amount_captured": _cents(), "amount_refunded": _cents(),
        "currency": _text(), "status": _text(), "paid": _flag(), "refunded": _flag(), "disputed": _flag(),
        "failure_code": _text(), "failure_message": _text(), "outcome_type": _text(), "outcome_reason": _text(),
        "outcome_network_status": _text(), "outcome_risk_level": _text(), "outcome_risk_score": _cents(),
        "outcome_seller_message": _text(), "card_brand": _text(), "card_country": _text(), "card_funding": _text(),
        "billing_email": _text(), "payment_intent": _text(), "payment_method": _text(),
        "balance_transaction": _text(), "description": _text(), "metadata_shopify_order": _text(),
        "metadata_shopify_shop": _text(),
    }),
    "refunds": _tagged({
        "created": _ts(), "amount": _cents(), "currency": _text(), "status": _text(), "reason": _text(),
        "charge": _text(), "payment_intent": _text(), "balance_transaction": _text(),
        "metadata_shopify_order": _text(),
    }),
    "disputes": _tagged({
        "created": _ts(), "amount": _cents(), "currency": _text(), "status": _text(), "reason": _text(),
        "charge": _text(), "payment_intent": _text(), "is_charge_refundable": _flag(), "card_brand": _text(),
        "case_type": _text(), "network_reason_code": _text(), "evidence_due_by": _ts(), "has_evidence": _flag(),
        "past_due": _flag(), "submission_count": _cents(), "balance_transaction_ids": _text(),
    }),
    "balance_transactions": _tagged({
        "created": _ts(), "available_on": _ts(), "amount": _cents(), "fee": _cents(), "net": _cents(),
        "currency": _text(), "status": _text(), "type": _text(), "reporting_category": _text(),
        "source": _text(), "description": _text(),
    }),
    "payment_intents": _tagged({
        "created": _ts(), "amount": _cents(), "amount_received": _cents(), "currency": _text(),
        "status": _text(), "latest_charge": _text(), "payment_method": _text(),
        "last_payment_error_code": _text(), "metadata_shopify_order": _text(),
    }),
    # charge.dispute.* events (id = event id): the only place Stripe says when a dispute closed
    "dispute_events": _tagged({"created": _ts(), "type": _text(), "dispute": _text(), "status": _text()}),
}
TABLES = tuple(TABLE_COLUMNS)
