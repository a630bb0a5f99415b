"""Stripe v1 list paging, the REST client and the flattening of Stripe objects into raw rows.

Paging and retries are dlt's: `RESTClient.paginate` with a `StripePaginator` (Stripe's `starting_after` cursor is
the id of the last object of a page, so it is not a field of the response) over dlt's retrying session, which
backs off on 429/5xx and honours `Retry-After`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import BaseReferencePaginator
from requests import Request, Response

from pipelines.sources.stripe.settings import PAGE_SIZE


def _body(response: Response) -> dict[str, Any]:
    """The decoded list body, decoded once per response (orjson) and kept on it for the paginator."""
    body = getattr(response, "_stripe_body", None)
    if body is None:
        body = orjson.loads(response.content)
        response._stripe_body = body  # type: ignore[attr-defined]
    return body


class StripeRESTClient(RESTClient):
    """dlt's RESTClient whose list pages are Stripe list objects: `data` taken directly (no JSONPath per page)."""

    def extract_response(self, response: Response, data_selector: Any) -> list[Any]:
        return _body(response).get("data") or []


class StripePaginator(BaseReferencePaginator):
    """Stripe list paging: while `has_more`, ask for the objects after the last one (`starting_after=<id>`)."""

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = _body(response)
        objects = body.get("data") or []
        self._next_reference = objects[-1]["id"] if body.get("has_more") and objects else None

    def update_request(self, request: Request) -> None:
        if request.params is None:
            request.params = {}
        request.params["starting_after"] = self._next_reference


def stripe_client(base_url: str, api_key: str, max_attempts: int = 5, backoff_factor: float = 1.0) -> RESTClient:
    """A REST client for one account's secret key (the key only travels in the Authorization header)."""
    session = Client(raise_for_status=False, request_max_attempts=max_attempts,
                     request_backoff_factor=backoff_factor, respect_retry_after_header=True).session
    return StripeRESTClient(base_url=base_url.rstrip("/"), auth=BearerTokenAuth(api_key),
                            paginator=StripePaginator(), data_selector="data", session=session)


def list_pages(client: RESTClient, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list endpoint (newest first), as lists of objects."""
    yield from client.paginate(path, params={"limit": PAGE_SIZE, **params})


def retrieve(client: RESTClient, path: str, object_id: str, expand: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """One object by id (None when Stripe no longer has it); retried like the lists."""
    response = client.get(f"{path}/{object_id}", params={"expand[]": list(expand)} if expand else None)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return orjson.loads(response.content)


# --------------------------------------------------------------------------------------------- flattening


def _ts(seconds: Any) -> Any:
    """Stripe's epoch seconds as a UTC datetime. Any other type is passed on as it came: dlt then loads it into
    a variant column, which the gate's schema check (`raw_schema_unchanged`) reports as a breaking change."""
    if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return seconds
    return datetime.fromtimestamp(seconds, UTC)


def _id(value: Any) -> Any:
    """An expandable field as its id (objects when expanded, plain ids otherwise)."""
    return value.get("id") if isinstance(value, dict) else value


def _base(obj: dict[str, Any], account: dict[str, str]) -> dict[str, Any]:
    return {"id": obj["id"], "account_id": account["account_id"], "brand": account["brand"],
            "created": _ts(obj.get("created"))}


def charge_row(obj: dict[str, Any], account: dict[str, str]) -> dict[str, Any]:
    outcome = obj.get("outcome") or {}
    card = (obj.get("payment_method_details") or {}).get("card") or {}
    metadata = obj.get("metadata") or {}
    return {
        **_base(obj, account), "amount": obj.get("amount"), "amount_captured": obj.get("amount_captured"),
        "amount_refunded": obj.get("amount_refunded"), "currency": obj.get("currency"), "status": obj.get("status"),
        "paid": obj.get("paid"), "refunded": obj.get("refunded"), "disputed": obj.get("disputed"),
        "failure_code": obj.get("failure_code"), "failure_message": obj.get("failure_message"),
        "outcome_type": outcome.get("type"), "outcome_reason": outcome.get("reason"),
        "outcome_network_status": outcome.get("network_status"), "outcome_risk_level": outcome.get("risk_level"),
        "outcome_risk_score": outcome.get("risk_score"), "outcome_seller_message": outcome.get("seller_message"),
        "card_brand": card.get("brand"), "card_country": card.get("country"), "card_funding": card.get("funding"),
        "billing_email": (obj.get("billing_details") or {}).get("email"),
        "payment_intent": _id(obj.get("payment_intent")), "payment_method": _id(obj.get("payment_method")),
        "balance_transaction": _id(obj.get("balance_transaction")), "description": obj.get("description"),
        "metadata_shopify_order": metadata.get("shopify_order"), "metadata_shopify_shop": metadata.get("shopify_shop"),
    }


def refund_row(obj: dict[str, Any], account: dict[str, str]) -> dict[str, Any]:
    return {
        **_base(obj, account), "amount": obj.get("amount"), "currency": obj.get("currency"),
        "status": obj.get("status"), "reason": obj.get("reason"), "charge": _id(obj.get("charge")),
        "payment_intent": _id(obj.get("payment_intent")), "balance_transaction": _id(obj.get("balance_transaction")),
        "metadata_shopify_order": (obj.get("metadata") or {}).get("shopify_order"),
    }


def dispute_row(obj: dict[str, Any], account: dict[str, str]) -> dict[str, Any]:
    evidence = obj.get("evidence_details") or {}
    card = (obj.get("payment_method_details") or {}).get("card") or {}
    return {
        **_base(obj, account), "amount": obj.get("amount"), "currency": obj.get("currency"),
        "status": obj.get("status"), "reason": obj.get("reason"), "charge": _id(obj.get("charge")),
        "payment_intent": _id(obj.get("payment_intent")), "is_charge_refundable": obj.get("is_charge_refundable"),
        "card_brand": card.get("brand"), "case_type": card.get("case_type"),
        "network_reason_code": card.get("network_reason_code"), "evidence_due_by": _ts(evidence.get("due_by")),
        "has_evidence": evidence.get("has_evidence"), "past_due": evidence.get("past_due"),
        "submission_count": evidence.get("submission_count"),
        "balance_transaction_ids": json.dumps([_id(b) for b in obj.get("balance_transactions") or []]),
    }


def balance_transaction_row(obj: dict[str, Any], account: dict[str, str]) -> dict[str, Any]:
    return {
        **_base(obj, account), "available_on": _ts(obj.get("available_on")), "amount": obj.get("amount"),
        "fee": obj.get("fee"), "net": obj.get("net"), "currency": obj.get("currency"), "status": obj.get("status"),
        "type": obj.get("type"), "reporting_category": obj.get("reporting_category"),
        "source": _id(obj.get("source")), "description": obj.get("description"),
    }


def payment_intent_row(obj: dict[str, Any], account: dict[str, str]) -> dict[str, Any]:
    error = obj.get("last_payment_error") or {}
    return {
        **_base(obj, account), "amount": obj.get("amount"), "amount_received": obj.get("amount_received"),
        "currency": obj.get("currency"), "status": obj.get("status"), "latest_charge": _id(obj.get("latest_charge")),
        "payment_method": _id(obj.get("payment_method")), "last_payment_error_code": error.get("code"),
        "metadata_shopify_order": (obj.get("metadata") or {}).get("shopify_order"),
    }


def dispute_event_row(obj: dict[str, Any], account: dict[str, str]) -> dict[str, Any]:
    dispute = (obj.get("data") or {}).get("object") or {}
    return {**_base(obj, account), "type": obj.get("type"), "dispute": dispute.get("id"),
            "status": dispute.get("status")}


ROW_BUILDERS = {"charges": charge_row, "refunds": refund_row, "disputes": dispute_row,
                "balance_transactions": balance_transaction_row, "payment_intents": payment_intent_row,
                "dispute_events": dispute_event_row}
