"""How numbers, money and months are written on the dashboard (one place, so text and tiles agree)."""

from __future__ import annotations

import math
from datetime import date

# Prefixes for the reporting currencies we expect; any other ISO code is written before the amount.
CURRENCY_PREFIX: dict[str, str] = {"USD": "US$", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "GBP": "£", "EUR": "€"}
MISSING = "—"


def is_missing(value: float | None) -> bool:
    """True for None and NaN (DuckDB NULLs arrive as NaN in pandas)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_pct(ratio: float | None, decimals: int = 1) -> str:
    """A ratio in [0,1] as a percentage with a space before the sign: ``0.0791`` -> ``"7.9 %"``."""
    if is_missing(ratio):
        return MISSING
    return f"{ratio * 100:.{decimals}f} %"


def fmt_target(ratio: float) -> str:
    """A target ratio without trailing zeros: ``0.05`` -> ``"5 %"``, ``0.025`` -> ``"2.5 %"``."""
    text = f"{ratio * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"


def fmt_pp(diff: float) -> str:
    """A difference of two ratios in percentage points with its sign: ``0.029`` -> ``"+2.9 pp"``."""
    return f"{diff * 100:+.1f} pp"


def currency_prefix(currency: str) -> str:
    """The prefix written before amounts in ``currency`` (``"US$"`` for USD, the ISO code when unknown)."""
    return CURRENCY_PREFIX.get(currency.upper(), currency.upper())


def fmt_money(amount: float | None, currency: str, decimals: int = 0, signed: bool = False) -> str:
    """An amount in the reporting currency: ``4210.4, "USD"`` -> ``"US$ 4,210"``; negative -> ``"-US$ 120"``."""
    if is_missing(amount):
        return MISSING
    prefix = currency_prefix(currency)
    separator = " " if len(prefix) > 1 else ""
    number = f"{abs(amount):,.{decimals}f}"
    if amount < 0 and float(number.replace(",", "")) != 0:
        sign = "-"
    else:
        sign = "+" if signed else ""
    return f"{sign}{prefix}{separator}{number}"


def fmt_month(month: date) -> str:
    """A month as words: ``date(2026, 10, 1)`` -> ``"October 2026"``."""
    return month.strftime("%B %Y")
