"""Stripe's error objects (`{"error": {...}}`) as the emulator answers them, worded as the real API words them."""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes"
NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer "
    "auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
    "details, or we can help at https://support.stripe.com/."
)
RATE_LIMIT_MESSAGE = (
    "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits."
)


class StripeError(Exception):
    """An error answered as Stripe's error object with an HTTP status."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 error_type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type

    def body(self) -> dict[str, Any]:
        """The JSON body `{"error": {...}}` (keys only when they apply, as Stripe does)."""
        error: dict[str, Any] = {}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"{DOC_BASE}/{self.code.replace('_', '-')}"
        error["message"] = self.message
        if self.param is not None:
            error["param"] = self.param
        error["type"] = self.error_type
        return {"error": error}


def mask_key(key: str) -> str:
    """A secret key as Stripe echoes it: the `sk_test_` prefix and the last 4 characters, the rest starred."""
    prefix = next((p for p in ("sk_test_", "sk_live_", "rk_test_", "rk_live_") if key.startswith(p)), "")
    rest = key[len(prefix):]
    if len(rest) <= 4:
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


def missing_key() -> StripeError:
    """401: no Authorization header (or an empty key)."""
    return StripeError(401, NO_KEY_MESSAGE)


def invalid_key(key: str) -> StripeError:
    """401: a key no account has."""
    return StripeError(401, f"Invalid API Key provided: {mask_key(key)}")


def no_such(object_name: str, object_id: str, param: str) -> StripeError:
    """`resource_missing`: 404 for a retrieve (`param="id"`), 400 for a list cursor."""
    status = 404 if param == "id" else 400
    return StripeError(status, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param)


def invalid_integer(param: str, value: str) -> StripeError:
    """400: a parameter that must be an integer is not."""
    return StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param)


def limit_out_of_range(value: int) -> StripeError:
    """400: `limit` outside 1..100."""
    bound = "greater than or equal to 1" if value < 1 else "less than or equal to 100"
    return StripeError(400, f"This value must be {bound}.", code="parameter_invalid_integer", param="limit")


def both_cursors() -> StripeError:
    """400: `starting_after` and `ending_before` together."""
    return StripeError(400, "You may only specify one of these parameters: ending_before, starting_after.")


def not_expandable(field_name: str, param: str) -> StripeError:
    """400: `expand[]` names a field that cannot be expanded."""
    return StripeError(400, f"This property cannot be expanded ({field_name}).", param=param)


def unknown_parameter(name: str) -> StripeError:
    """400: a query parameter the endpoint does not take."""
    return StripeError(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def unrecognized_url(method: str, path: str) -> StripeError:
    """404: a path the API does not serve."""
    return StripeError(404, f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
                            "we can help at https://support.stripe.com/.")


def rate_limited() -> StripeError:
    """429: the account sent more requests than the limiter allows."""
    return StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit")
