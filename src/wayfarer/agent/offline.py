"""The offline planner: a deterministic model provider that ships with Wayfarer.

It is what runs when no API key is set, so the app is useful with no network. It speaks
the same `Provider` interface as a real model and acts only through the same tools:
each call looks at the conversation (the request, and the results of the tools it
asked for so far) and decides its next step, exactly like a model doing tool use. It
streams its reasoning and reply word by word at a readable pace.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio

from wayfarer.trip import Stop, TripSnapshot
from wayfarer.trip.model import json_object

from . import intents as I
from .gazetteer import Gazetteer, Place, default_gazetteer, fold
from ..money import money
from .geo import distance_km
from .provider import (
    Finished,
    ModelEvent,
    ModelRequest,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolUse,
)

LABEL = "offline planner"

# Approximate euro exchange rates, for showing typical sight costs in the trip's
# currency when the trip is not in euros. Offline means no live rates: the replies say so.
EUR_RATES = {
    "EUR": 1.0, "USD": 1.08, "GBP": 0.85, "CHF": 0.95, "JPY": 160.0, "CZK": 25.0, "HUF": 395.0,
    "DKK": 7.46, "SEK": 11.3, "NOK": 11.6, "PLN": 4.3, "TRY": 35.0, "AED": 3.97, "THB": 38.0,
    "SGD": 1.45, "AUD": 1.65, "NZD": 1.8, "CAD": 1.48, "MXN": 19.0, "BRL": 5.6, "ARS": 1000.0,
    "ZAR": 20.0, "MAD": 10.8, "KRW": 1450.0, "CNY": 7.8, "INR": 90.0, "HKD": 8.4,
}  # fmt: skip

DAY_START_MIN = 9 * 60 + 30
DAY_CAPACITY_MIN = 8 * 60
WALK_MIN = 20  # between two stops of a day, on average
LUNCH_AFTER_MIN = 12 * 60


@dataclass
class _Step:
    reasoning: str = ""
    text: str = ""
    tools: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (id, name, input)


@dataclass(frozen=True)
class _Conversation:
    request_text: str
    phase: int  # how many steps this planner already took for the request
    results: dict[str, dict[str, Any]]  # tool_use id -> parsed result (or {"error": ...})
    trip: TripSnapshot | None
    asker: str


def _conversation(request: ModelRequest) -> _Conversation:
    last_user = 0
    for i, turn in enumerate(request.turns):
        if turn.role == "user" and any(isinstance(b, TextBlock) for b in turn.blocks):
            last_user = i
    text = ""
    if request.turns:
        texts = [b.text for b in request.turns[last_user].blocks if isinstance(b, TextBlock)]
        text = texts[-1] if texts else ""
        if request.asker_name and text.startswith(f"{request.asker_name}: "):
            text = text[len(request.asker_name) + 2 :]
        else:
            text = re.sub(r"^[^:\n]{1,60}:\s", "", text)
    later = request.turns[last_user + 1 :]
    results: dict[str, dict[str, Any]] = {}
    for turn in later:
        for block in turn.blocks:
            if isinstance(block, ToolResultBlock):
                results[block.tool_use_id] = json_object(block.content)
    phase = sum(1 for turn in later if turn.role == "assistant")
    return _Conversation(text, phase, results, request.trip, request.asker_name)


def _clock(minutes: int) -> str:
    minutes = min(minutes, 23 * 60 + 59)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class OfflinePlanner:
    """Deterministic planner: plan N days in a city, add/move/remove a stop, budget,
    currency, "what does it cost so far", and an overview of the plan."""

    def __init__(
        self,
        gazetteer: Callable[[], Gazetteer] = default_gazetteer,
        *,
        words_per_second: float = 40.0,
        today: Callable[[], _dt.date] = _dt.date.today,
    ) -> None:
        self._gazetteer = gazetteer
        self._delay = 1.0 / words_per_second if words_per_second > 0 else 0.0
        self._today = today

    @property
    def label(self) -> str:
        return LABEL

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        conv = _conversation(request)
        step = self._step(conv)
        for chunk in _words(step.reasoning):
            yield ReasoningDelta(chunk)
            await anyio.sleep(self._delay / 2)
        for chunk in _words(step.text):
            yield TextDelta(chunk)
            await anyio.sleep(self._delay)
        for use_id, name, data in step.tools:
            yield ToolUse(use_id, name, data)
        yield Finished("tool_use" if step.tools else "end_turn")

    # ------------------------------------------------------------------ dispatch

    def _step(self, conv: _Conversation) -> _Step:
        intent = I.parse(conv.request_text, self._today())
        trip = conv.trip
        if isinstance(intent, I.PlanDays):
            return self._plan(intent, conv)
        if isinstance(intent, I.AddPlace):
            return self._add(intent, conv)
        if isinstance(intent, (I.MovePlace, I.RemovePlace)):
            return self._move_or_remove(intent, conv)
        if isinstance(intent, I.SetBudget):
            return self._budget(intent, conv)
        if isinstance(intent, I.SetCurrency):
            return self._currency(intent, conv)
        if isinstance(intent, I.AskCost):
            return _Step(text=_cost_report(trip))
        if isinstance(intent, I.ShowPlan):
            return _Step(text=_overview(trip))
        return _Step(text=_help(conv.asker))

    # ------------------------------------------------------------------ plan N days

    def _plan(self, intent: I.PlanDays, conv: _Conversation) -> _Step:
        currency = conv.trip.meta.currency if conv.trip else "EUR"
        if conv.phase == 0:
            return _Step(
                reasoning=f"Request: {intent.days} day(s) in {intent.place}"
                + (f" from {intent.start}" if intent.start else "")
                + ". First, find the city in the offline gazetteer.",
                text=f"Let me put together {intent.days} day{'s' if intent.days > 1 else ''} in {intent.place}. ",
                tools=[("plan-city", "search_place", {"query": intent.place, "limit": 3})],
            )
        found = conv.results.get("plan-city", {}).get("results", [])
        city_hit = next((r for r in found if r.get("kind") == "city"), found[0] if found else None)
        if city_hit is None:
            return _Step(
                text=f"\n\nI couldn't find **{intent.place}** in my offline atlas. Check the spelling, "
                "or try the nearest larger city."
            )
        gazetteer = self._gazetteer()
        city = city_hit["name"]
        sights = gazetteer.sights_in(city)
        days = _group_into_days(sights, intent.days)
        if conv.phase == 1:
            reasoning = (
                f"Found {city} ({city_hit.get('country', '')}) at {city_hit['lat']:.3f}, {city_hit['lon']:.3f}. "
                f"{len(sights)} well-known places there; grouping them by neighbourhood into "
                f"{intent.days} day(s) of at most {DAY_CAPACITY_MIN // 60} hours, nearest-first within each day."
            )
            if not sights:
                text = (
                    f"I found {city}, but I don't know its sights offline, so I've set up "
                    f"{intent.days} day{'s' if intent.days > 1 else ''} with the city centre as a starting point. "
                    "Tell me places to add (\"add the old town to day 1\").\n\n"
                )
            else:
                text = f"I found {city}. Here is the plan, day by day:\n\n"
            tools = [
                (f"plan-day-{i}", "add_day", {"title": _day_title(group, city), "date": _date_plus(intent.start, i)})
                for i, group in enumerate(days or [[]] * intent.days)
            ]
            return _Step(reasoning=reasoning, text=text, tools=tools)
        day_index = conv.phase - 2
        day_ids = [conv.results.get(f"plan-day-{i}", {}).get("day_id") for i in range(max(len(days), intent.days))]
        if day_index < len(day_ids) and day_ids[day_index]:
            group = days[day_index] if day_index < len(days) else []
            number = conv.results.get(f"plan-day-{day_index}", {}).get("day") or day_index + 1
            if not group:
                stop = {
                    "name": f"{city} city centre",
                    "lat": city_hit["lat"],
                    "lon": city_hit["lon"],
                    "day": day_ids[day_index],
                    "start_time": _clock(DAY_START_MIN),
                    "duration_min": 120,
                    "cost": 0,
                    "category": "sight",
                    "notes": "A starting point: walk around and find your favourite corners.",
                }
                return _Step(text=f"**Day {number}:** {city} city centre.\n\n", tools=[(f"plan-stop-{day_index}-0", "add_stop", stop)])
            schedule = _schedule(group)
            lines = []
            tools = []
            for j, (place, start) in enumerate(schedule):
                cost = _cost_in(place, currency)
                tools.append(
                    (
                        f"plan-stop-{day_index}-{j}",
                        "add_stop",
                        {
                            "name": place.name,
                            "lat": round(place.lat, 5),
                            "lon": round(place.lon, 5),
                            "day": day_ids[day_index],
                            "start_time": _clock(start),
                            "duration_min": place.duration_min or 60,
                            "cost": cost,
                            "category": place.category or "sight",
                            "notes": place.note or "",
                        },
                    )
                )
                price = "free" if cost == 0 else f"about {money(cost, currency)}"
                lines.append(f"- {_clock(start)} **{place.name}** ({price})")
            title = _day_title(group, city)
            day_cost = sum(_cost_in(p, currency) for p in group)
            text = f"**Day {number} — {title}** (about {money(day_cost, currency)} per person)\n" + "\n".join(lines) + "\n\n"
            return _Step(text=text, tools=tools)
        # all days written: sum up
        total = sum(_cost_in(p, currency) for group in days for p in group)
        leftovers = [s.name for s in sights if not any(s in g for g in days)]
        parts = [f"That's {intent.days} day{'s' if intent.days > 1 else ''} in {city}"]
        if total:
            parts.append(f", about {money(total, currency)} per person in entry fees and food stops")
        text = "".join(parts) + "."
        if currency != "EUR" and any(p.cost_eur for g in days for p in g):
            text += " (Costs converted from euros at approximate offline rates.)"
        limit = conv.trip.budget.limit if conv.trip else 0.0
        if limit > 0:
            spent = conv.trip.budget.spent if conv.trip else 0.0
            if spent > limit:
                text += f" That puts the trip **over budget**: {money(spent, currency)} of {money(limit, currency)}."
            else:
                text += f" The budget has {money(limit - spent, currency)} left."
        if leftovers:
            text += f" If you have more time: {', '.join(leftovers[:4])}."
        text += " Drag stops around on the board to change anything."
        return _Step(text=text)

    # ------------------------------------------------------------------ single edits

    def _add(self, intent: I.AddPlace, conv: _Conversation) -> _Step:
        trip = conv.trip
        currency = trip.meta.currency if trip else "EUR"
        if conv.phase == 0:
            return _Step(
                reasoning=f"Look up '{intent.place}', preferring places near the trip's other stops.",
                tools=[("add-search", "search_place", {"query": intent.place, "limit": 5})],
            )
        if conv.phase == 1:
            found = conv.results.get("add-search", {}).get("results", [])
            if not found:
                return _Step(text=f"I couldn't find **{intent.place}** offline. Try its full name, or add it on the board by hand.")
            hit = found[0]
            day: Any = ""
            if trip and trip.days:
                if intent.day is not None and not 1 <= intent.day <= len(trip.days):
                    return _Step(text=f"The trip has {len(trip.days)} day(s), so there is no day {intent.day}.")
                day = intent.day if intent.day is not None else len(trip.days)
            cost = _convert(float(hit.get("typical_cost_eur", 0) or 0), currency)
            stop = {
                "name": hit["name"],
                "lat": hit["lat"],
                "lon": hit["lon"],
                "day": day,
                "duration_min": int(hit.get("typical_duration_min") or 60),
                "cost": cost,
                "category": hit.get("category") or ("sight" if hit.get("kind") == "sight" else "other"),
            }
            return _Step(tools=[("add-stop", "add_stop", stop)])
        result = conv.results.get("add-stop", {})
        if "error" in result:
            return _Step(text=f"I couldn't add it: {result['error']}")
        where = f"day {result['day']}" if result.get("day") != "unscheduled" else "the unscheduled list"
        return _Step(text=f"Added **{result.get('name', intent.place)}** to {where}.")

    def _move_or_remove(self, intent: I.MovePlace | I.RemovePlace, conv: _Conversation) -> _Step:
        key, verb = ("remove", "remove") if isinstance(intent, I.RemovePlace) else ("move", "move")
        if conv.phase > 0:  # the edit was made (or refused): report from its result
            result = conv.results.get(key, {})
            if "error" in result:
                return _Step(text=f"I couldn't {verb} it: {result['error']}")
            name = result.get("name") or intent.place
            if isinstance(intent, I.RemovePlace):
                return _Step(text=f"Removed **{name}** from the plan.")
            where = f"day {result['day']}" if result.get("day") != "unscheduled" else "the unscheduled list"
            return _Step(text=f"Moved **{name}** to {where}.")
        trip = conv.trip
        stop = _find_stop(trip, intent.place) if trip else None
        if stop is None:
            names = ", ".join(s.name for s in (trip.stops if trip else ())[:8])
            return _Step(text=f"I can't find a stop called **{intent.place}** in the plan." + (f" Stops: {names}." if names else ""))
        if isinstance(intent, I.RemovePlace):
            return _Step(tools=[(key, "remove_stop", {"stop_id": stop.id})])
        day: Any = intent.day if intent.day is not None else ""
        return _Step(tools=[(key, "move_stop", {"stop_id": stop.id, "day": day})])

    def _budget(self, intent: I.SetBudget, conv: _Conversation) -> _Step:
        if conv.phase == 0:
            data = {"delta": intent.amount} if intent.relative else {"set_to": intent.amount}
            return _Step(tools=[("budget", "adjust_budget", data)])
        result = conv.results.get("budget", {})
        if "error" in result:
            return _Step(text=f"I couldn't change the budget: {result['error']}")
        currency = result.get("currency", "EUR")
        limit, spent = float(result.get("limit", 0)), float(result.get("spent", 0))
        text = f"The budget is now **{money(limit, currency)}**; {money(spent, currency)} is planned so far"
        text += f", so {money(limit - spent, currency)} is left." if spent <= limit else f": that is {money(spent - limit, currency)} **over**."
        return _Step(text=text)

    def _currency(self, intent: I.SetCurrency, conv: _Conversation) -> _Step:
        if conv.phase == 0:
            return _Step(tools=[("currency", "set_currency", {"currency": intent.code})])
        result = conv.results.get("currency", {})
        if "error" in result:
            return _Step(text=f"I couldn't change the currency: {result['error']}")
        return _Step(
            text=f"The trip's currency is now **{result.get('currency', intent.code)}**. Existing costs keep "
            "their numbers; edit them on the board if they were in another currency."
        )


# ---------------------------------------------------------------- planning helpers


def _words(text: str) -> Iterable[str]:
    """Chunks of one word with its following whitespace, so streaming looks natural."""
    return re.findall(r"\S+\s*|\s+", text)


def _convert(eur: float, currency: str) -> float:
    rate = EUR_RATES.get(currency)
    if rate is None:
        return 0.0
    return round(eur * rate, 0 if rate > 50 else 2)


def _cost_in(place: Place, currency: str) -> float:
    if place.currency == currency and place.cost_local is not None:
        return float(place.cost_local)
    return _convert(float(place.cost_eur or 0.0), currency)


def _date_plus(start: str, days: int) -> str:
    if not start:
        return ""
    return (_dt.date.fromisoformat(start) + _dt.timedelta(days=days)).isoformat()


def _day_title(group: list[Place], city: str) -> str:
    areas: list[str] = []
    for place in group:
        if place.area and place.area not in areas:
            areas.append(place.area)
    if not areas:
        return city
    return " & ".join(areas[:2])


def _group_into_days(sights: list[Place], days: int) -> list[list[Place]]:
    """Sights grouped into `days` days: whole neighbourhoods together where they fit,
    each day within its hours, largest neighbourhoods first."""
    if not sights or days <= 0:
        return []
    areas: dict[str, list[Place]] = {}
    for s in sights:
        areas.setdefault(s.area or s.name, []).append(s)
    groups = sorted(areas.values(), key=lambda g: -len(g))
    plan: list[list[Place]] = [[] for _ in range(days)]
    load = [0] * days

    def cost(p: Place) -> int:
        return (p.duration_min or 60) + WALK_MIN

    for group in groups:
        target = min(range(days), key=lambda i: load[i])
        for place in group:
            if load[target] + cost(place) > DAY_CAPACITY_MIN:
                target = min(range(days), key=lambda i: load[i])
                if load[target] + cost(place) > DAY_CAPACITY_MIN:
                    continue  # no room anywhere: offered as "if you have more time"
            plan[target].append(place)
            load[target] += cost(place)
    return [_nearest_first(day) for day in plan if day] + [[] for day in plan if not day]


def _nearest_first(places: list[Place]) -> list[Place]:
    """Visit order by nearest neighbour, starting from the westernmost place."""
    remaining = sorted(places, key=lambda p: (p.lon, p.lat))
    if not remaining:
        return []
    route = [remaining.pop(0)]
    while remaining:
        here = (route[-1].lat, route[-1].lon)
        nxt = min(remaining, key=lambda p: distance_km(here, (p.lat, p.lon)))
        remaining.remove(nxt)
        route.append(nxt)
    return route


def _schedule(places: list[Place]) -> list[tuple[Place, int]]:
    """Start times through the day; a food stop moves to lunchtime when the day has one."""
    food = [p for p in places if p.category == "food"]
    others = [p for p in places if p.category != "food"]
    clock = DAY_START_MIN
    out: list[tuple[Place, int]] = []
    for place in others:
        if food and clock >= LUNCH_AFTER_MIN:
            lunch = food.pop(0)
            out.append((lunch, clock))
            clock += (lunch.duration_min or 60) + WALK_MIN
        out.append((place, clock))
        clock += (place.duration_min or 60) + WALK_MIN
        clock = int(math.ceil(clock / 5) * 5)
    for lunch in food:
        out.append((lunch, clock))
        clock += (lunch.duration_min or 60) + WALK_MIN
    return out


def _find_stop(trip: TripSnapshot, name: str) -> Stop | None:
    wanted = fold(name)
    exact = [s for s in trip.stops if fold(s.name) == wanted]
    if exact:
        return exact[0]
    partial = [s for s in trip.stops if wanted in fold(s.name) or fold(s.name) in wanted]
    return partial[0] if partial else None


# ---------------------------------------------------------------- answers from the plan


def _cost_report(trip: TripSnapshot | None) -> str:
    if trip is None or not trip.stops:
        return "Nothing is planned yet, so nothing is spent. Ask me to plan a few days somewhere!"
    cur = trip.meta.currency
    b = trip.budget
    lines = [f"So far the plan costs **{money(b.spent, cur)}** per person."]
    for i, day in enumerate(trip.days, start=1):
        amount = b.by_day.get(day.id, 0.0)
        if amount:
            lines.append(f"- Day {i}{' — ' + day.title if day.title else ''}: {money(amount, cur)}")
    if b.by_day.get(""):
        lines.append(f"- Unscheduled: {money(b.by_day[''], cur)}")
    cats = ", ".join(f"{c} {money(v, cur)}" for c, v in sorted(b.by_category.items(), key=lambda kv: -kv[1]) if v)
    if cats:
        lines.append(f"\nBy category: {cats}.")
    if b.limit > 0:
        if b.over:
            lines.append(f"That is **{money(b.spent - b.limit, cur)} over** the budget of {money(b.limit, cur)}.")
        else:
            lines.append(f"The budget is {money(b.limit, cur)}, so {money(b.remaining, cur)} is left.")
    else:
        lines.append("No budget is set yet: say \"set the budget to 800\" to add one.")
    return "\n".join(lines)


def _overview(trip: TripSnapshot | None) -> str:
    if trip is None or not (trip.days or trip.stops):
        return "The plan is empty so far. Try \"plan 2 days in Lisbon\"."
    lines = [f"**{trip.meta.title}**"]
    for i, day in enumerate(trip.days, start=1):
        stops = trip.stops_in(day.id)
        names = ", ".join(s.name for s in stops) or "nothing yet"
        lines.append(f"- Day {i}{' — ' + day.title if day.title else ''}: {names}")
    if trip.unscheduled:
        lines.append(f"- Unscheduled: {', '.join(s.name for s in trip.unscheduled)}")
    return "\n".join(lines)


def _help(asker: str) -> str:
    hello = f"Hi {asker}! " if asker else "Hi! "
    return (
        hello
        + "I'm the offline planner (no AI model is connected, so I understand everyday requests). "
        "Try:\n- \"Plan 3 days in Lisbon from December 3\"\n- \"Add the Louvre to day 2\"\n"
        "- \"Move Belém Tower to day 1\" or \"Remove the Eiffel Tower\"\n- \"Set the budget to 1,200\" "
        "or \"Raise the budget by 200\"\n- \"What does it cost so far?\"\n- \"Switch to USD\""
    )
