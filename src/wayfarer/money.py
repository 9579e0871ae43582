"""Amounts written as plain text, the same way in the agent's replies and in exports.

(The desktop app writes them with currency symbols instead: `ui/style.format_money`.)
"""

from __future__ import annotations

# Currencies whose amounts are written without cents.
WHOLE_UNITS = frozenset({"JPY", "KRW", "HUF", "ARS", "CLP", "ISK", "VND", "IDR"})


def money(amount: float, currency: str) -> str:
    """`1,234.50 EUR`, `1,200 EUR`, `15,000 JPY`."""
    if currency in WHOLE_UNITS or round(amount, 2).is_integer():
        return f"{amount:,.0f} {currency}"
    return f"{amount:,.2f} {currency}"
