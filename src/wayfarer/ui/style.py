"""The look shared by every panel: colours, category chips, fonts and number formats.

One place for these so that a day is the same colour on the board, the map, the budget
and in the chat, and a category reads the same everywhere. Light theme.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from PySide6.QtGui import QColor, QFont

# Neutrals of the light theme.
WINDOW = QColor("#f6f7f9")
SURFACE = QColor("#ffffff")
SURFACE_ALT = QColor("#f1f3f5")  # headers, hovered rows
BORDER = QColor("#e3e6ea")
TEXT = QColor("#1f2430")
TEXT_MUTED = QColor("#6b7280")
TEXT_FAINT = QColor("#9aa1ab")
ACCENT = QColor("#4263eb")
ACCENT_SOFT = QColor("#e7ecff")  # selection background
DANGER = QColor("#e03131")
DANGER_SOFT = QColor("#fff0f0")
WARNING = QColor("#e67700")
SUCCESS = QColor("#2b8a3e")

# Map.
SEA = QColor("#dce9f5")
LAND = QColor("#f8f6f1")
COASTLINE = QColor("#b9c3cd")

# Days: distinct hues that all carry a white number (pins, badges) on a light background.
_DAY_COLORS = (
    "#3b5bdb",  # blue
    "#e8590c",  # orange
    "#0ca678",  # teal
    "#c2255c",  # raspberry
    "#7048e8",  # violet
    "#1098ad",  # cyan
    "#5c940d",  # olive
    "#ae3ec9",  # magenta
    "#d9480f",  # rust
    "#495057",  # slate
)
UNSCHEDULED_COLOR = QColor("#868e96")


def day_color(index: int) -> QColor:
    """The colour of the day at 0-based `index` in the trip's day order (wraps around);
    a negative index (no day: unscheduled) gives grey."""
    if index < 0:
        return QColor(UNSCHEDULED_COLOR)
    return QColor(_DAY_COLORS[index % len(_DAY_COLORS)])


CATEGORY_COLORS: Mapping[str, QColor] = MappingProxyType(
    {
        "sight": QColor("#4263eb"),
        "food": QColor("#e8590c"),
        "lodging": QColor("#7048e8"),
        "transport": QColor("#1098ad"),
        "activity": QColor("#2b8a3e"),
        "other": QColor("#868e96"),
    }
)
CATEGORY_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "sight": "Sight",
        "food": "Food",
        "lodging": "Lodging",
        "transport": "Transport",
        "activity": "Activity",
        "other": "Other",
    }
)


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, CATEGORY_COLORS["other"]))


def tinted(color: QColor, alpha: float) -> QColor:
    """`color` at `alpha` (0..1): soft backgrounds of chips and highlighted rows."""
    result = QColor(color)
    result.setAlphaF(alpha)
    return result


# Fonts: the first family installed wins; DejaVu Sans is the floor on a bare Linux.
FONT_FAMILIES = ("Inter", "Segoe UI", "SF Pro Text", "Cantarell", "Noto Sans", "DejaVu Sans")


def ui_font(point_size: float = 10.0, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    font = QFont()
    font.setFamilies(list(FONT_FAMILIES))
    font.setPointSizeF(point_size)
    font.setWeight(weight)
    return font


# Numbers as a person reads them.
_CURRENCY_SYMBOLS: Mapping[str, str] = MappingProxyType(
    {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "INR": "₹", "KRW": "₩"}
)


def currency_symbol(currency: str) -> str:
    return _CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def format_money(amount: float, currency: str, *, signed: bool = False) -> str:
    """`€1,234` (cents only when there are some: `€12.50`); `signed` adds `+` to gains."""
    sign = "\u2212" if amount < 0 else ("+" if signed and amount > 0 else "")  # a real minus sign
    value = abs(amount)
    digits = f"{value:,.0f}" if round(value, 2).is_integer() else f"{value:,.2f}"
    return f"{sign}{currency_symbol(currency)}{digits}"


def format_duration(minutes: int) -> str:
    """`45 min`, `2 h`, `1 h 30 min`; "" for no duration."""
    if minutes <= 0:
        return ""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
