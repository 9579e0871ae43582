"""Understands the everyday requests the offline planner serves, in plain English.

Pure parsing: text in, an `Intent` out. No trip, no gazetteer.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2,
}  # fmt: skip
_MONTHS = {
    m: i
    for i, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
         ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
         ("oct", "october"), ("nov", "november"), ("dec", "december")],
        start=1,
    )
    for m in names
}  # fmt: skip
_CURRENCY_WORDS = {
    "euro": "EUR", "euros": "EUR", "dollar": "USD", "dollars": "USD", "us dollars": "USD",
    "pound": "GBP", "pounds": "GBP", "yen": "JPY", "francs": "CHF", "swiss francs": "CHF",
    "kroner": "DKK", "crowns": "CZK", "koruna": "CZK", "forint": "HUF", "baht": "THB",
    "won": "KRW", "pesos": "MXN", "reais": "BRL", "rand": "ZAR", "dirham": "AED", "lira": "TRY",
}  # fmt: skip

_NUM = r"(?P<n>\d+|a couple of|couple of|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
_PLACE = r"(?P<place>[^,.!?;]+?)"
_END = r"(?=\s*(?:,|\.|!|\?|;|$|\s+(?:from|starting|on|in|for|with|next|this|please|and)\b))"


@dataclass(frozen=True)
class PlanDays:
    days: int
    place: str
    start: str = ""  # ISO date or ""


@dataclass(frozen=True)
class AddPlace:
    place: str
    day: int | None  # 1-based; None = unscheduled/last day


@dataclass(frozen=True)
class MovePlace:
    place: str
    day: int | None  # None = unscheduled


@dataclass(frozen=True)
class RemovePlace:
    place: str


@dataclass(frozen=True)
class SetBudget:
    amount: float
    relative: bool  # True: change by amount (may be negative)


@dataclass(frozen=True)
class SetCurrency:
    code: str


@dataclass(frozen=True)
class AskCost:
    pass


@dataclass(frozen=True)
class ShowPlan:
    pass


@dataclass(frozen=True)
class Unknown:
    text: str


Intent = PlanDays | AddPlace | MovePlace | RemovePlace | SetBudget | SetCurrency | AskCost | ShowPlan | Unknown


def _count(word: str) -> int:
    word = word.strip().lower()
    return int(word) if word.isdigit() else _NUMBERS.get(word, 1)


def _amount(text: str) -> float | None:
    match = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*(k\b)?", text)
    if not match:
        return None
    value = float(match.group(1).replace(",", ""))
    return value * 1000 if match.group(2) else value


def parse_date(text: str, today: _dt.date) -> str:
    """The first date in `text` (ISO, "3 December", "Dec 3rd"), or ""; year defaults to
    the next occurrence after today."""
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", text)
    if iso:
        try:
            return _dt.date(int(iso[1]), int(iso[2]), int(iso[3])).isoformat()
        except ValueError:
            return ""
    months = "|".join(sorted(_MONTHS, key=len, reverse=True))
    m = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({months})\b", text, re.I) or re.search(
        rf"\b({months})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", text, re.I
    )
    if not m:
        return ""
    a, b = m.group(1), m.group(2)
    day, month = (int(a), _MONTHS[b.lower()]) if a.isdigit() else (int(b), _MONTHS[a.lower()])
    for year in (today.year, today.year + 1):
        try:
            candidate = _dt.date(year, month, day)
        except ValueError:
            return ""
        if candidate >= today:
            return candidate.isoformat()
    return ""


def _clean_place(place: str) -> str:
    place = re.sub(r"^(the city of|beautiful|lovely)\s+", "", place.strip(), flags=re.I)
    return place.strip(" '\"")


def parse(text: str, today: _dt.date | None = None) -> Intent:
    today = today or _dt.date.today()
    t = " ".join(text.split())
    low = t.lower()

    if re.search(r"\b(weekend)\b", low) and (m := re.search(rf"\b(?:in|to|around)\s+{_PLACE}{_END}", t, re.I)):
        return PlanDays(2, _clean_place(m["place"]), parse_date(t, today))
    m = re.search(rf"\b{_NUM}[\s-]+days?\b.*?\b(?:in|to|around|at|of)\s+{_PLACE}{_END}", t, re.I) or re.search(
        rf"\b(?:trip|visit|holiday|vacation)\s+(?:to|in)\s+{_PLACE}\s+for\s+{_NUM}[\s-]+days?", t, re.I
    )
    if m:
        days = max(1, min(_count(m["n"]), 14))
        return PlanDays(days, _clean_place(m["place"]), parse_date(t, today))
    if m := re.search(rf"\b(?:a\s+)?week\s+(?:in|to|around)\s+{_PLACE}{_END}", t, re.I):
        return PlanDays(7, _clean_place(m["place"]), parse_date(t, today))
    if m := re.search(rf"\bplan\s+(?:a\s+|my\s+|our\s+)?(?:trip|visit|stay)?\s*(?:to|in|for)\s+{_PLACE}{_END}", t, re.I):
        return PlanDays(2, _clean_place(m["place"]), parse_date(t, today))

    if re.search(r"\bbudget\b", low):
        amount = _amount(low)
        if amount is not None:
            if re.search(r"\b(raise|increase|add|up|more|extra|bump)\b", low):
                return SetBudget(amount, relative=True)
            if re.search(r"\b(lower|reduce|decrease|cut|less|down)\b", low) and not re.search(r"\bto\b", low):
                return SetBudget(-amount, relative=True)
            return SetBudget(amount, relative=False)
    if m := re.search(r"\b(?:currency|in|to|use|switch to)\s+([A-Z]{3})\b", t):
        if re.search(r"\b(currency|switch|use|convert|prices)\b", low):
            return SetCurrency(m.group(1))
    if re.search(r"\b(currency|switch to|use)\b", low):
        for word, code in sorted(_CURRENCY_WORDS.items(), key=lambda kv: -len(kv[0])):
            if re.search(rf"\b{word}\b", low):
                return SetCurrency(code)
    if re.search(r"\b(how much|what does|what do|cost so far|spent|spending|total|costs?)\b", low) and re.search(
        r"\b(cost|spent|spend|spending|total|budget|so far)\b", low
    ):
        return AskCost()

    if m := re.search(r"\bmove\s+(?:the\s+)?(?P<place>.+?)\s+to\s+(?:day\s*(?P<day>\d+)|(?P<uns>unscheduled|later))", t, re.I):
        return MovePlace(_clean_place(m["place"]), int(m["day"]) if m["day"] else None)
    if m := re.search(r"\b(?:remove|delete|drop|skip|cancel)\s+(?:the\s+)?(?P<place>[^.!?]+?)(?:\s+from\s+.*)?[.!?]?$", t, re.I):
        return RemovePlace(_clean_place(m["place"]))
    if m := re.search(
        r"\b(?:add|include|visit|see|put)\s+(?:the\s+)?(?P<place>.+?)(?:\s+(?:to|on|in|for)\s+(?:day\s*(?P<day>\d+)|the\s+(?P<last>last|first)\s+day))?[.!?]?$",
        t,
        re.I,
    ):
        day = int(m["day"]) if m["day"] else (1 if m["last"] == "first" else None)
        return AddPlace(_clean_place(m["place"]), day)
    if re.search(r"\b(show|what'?s|what is|summari[sz]e|overview|itinerary|the plan)\b", low):
        return ShowPlan()
    return Unknown(t)
