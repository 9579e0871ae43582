"""Checks for the values a trip accepts. Each raises `InvalidValue` naming the field."""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

from .errors import InvalidValue
from .keys import CATEGORIES

MAX_NAME = 200
MAX_NOTES = 10_000
MAX_MESSAGE = 100_000
MAX_DURATION_MIN = 7 * 24 * 60
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def text(field: str, value: Any, *, max_len: int, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, f"must be text, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidValue(field, "must not be empty")
    if len(value) > max_len:
        raise InvalidValue(field, f"is {len(value)} characters long, at most {max_len} allowed")
    return value


def name(field: str, value: Any) -> str:
    return text(field, value, max_len=MAX_NAME, allow_empty=False).strip()


def number(field: str, value: Any, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValue(field, f"must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise InvalidValue(field, f"must be a finite number, got {value!r}")
    if low is not None and result < low:
        raise InvalidValue(field, f"must be at least {low:g}, got {value!r}")
    if high is not None and result > high:
        raise InvalidValue(field, f"must be at most {high:g}, got {value!r}")
    return result


def latitude(value: Any) -> float:
    return number("lat", value, low=-90.0, high=90.0)


def longitude(value: Any) -> float:
    return number("lon", value, low=-180.0, high=180.0)


def duration(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue("duration_min", f"must be a whole number of minutes, got {value!r}")
    if value < 0:
        raise InvalidValue("duration_min", f"must not be negative, got {value}")
    if value > MAX_DURATION_MIN:
        raise InvalidValue("duration_min", f"must be at most {MAX_DURATION_MIN} (a week), got {value}")
    return value


def cost(value: Any) -> float:
    return number("cost", value, low=0.0)


def category(value: Any) -> str:
    if value not in CATEGORIES:
        raise InvalidValue("category", f"must be one of {', '.join(CATEGORIES)}; got {value!r}")
    return str(value)


def start_time(value: Any) -> str:
    if not isinstance(value, str) or (value and not _TIME.match(value)):
        raise InvalidValue("start_time", f"must be HH:MM (24-hour) or empty, got {value!r}")
    return value


def date(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("date", f"must be an ISO date (YYYY-MM-DD) or empty, got {value!r}")
    if value:
        try:
            _dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidValue("date", f"must be an ISO date (YYYY-MM-DD) or empty, got {value!r}") from None
        if len(value) != 10:
            raise InvalidValue("date", f"must be an ISO date (YYYY-MM-DD) or empty, got {value!r}")
    return value


def currency(value: Any) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise InvalidValue("currency", f"must be a three-letter ISO 4217 code such as EUR, got {value!r}")
    return value


def json_text(field: str, value: Any) -> str:
    import json

    if not isinstance(value, str):
        raise InvalidValue(field, f"must be a JSON string, got {type(value).__name__}")
    try:
        json.loads(value)
    except ValueError as exc:
        raise InvalidValue(field, f"is not valid JSON ({exc})") from None
    return value


def one_of(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidValue(field, f"must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)
