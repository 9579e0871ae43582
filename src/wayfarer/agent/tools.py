"""The agent's tools: the same for every model, each a thin, validated call on `Trip`.

A tool receives the model's JSON input, checks it, applies at most one edit to the trip
(in one transaction) and returns a JSON-able result. Bad input raises `ToolError`, whose
message goes back to the model as the tool's error result; the document is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wayfarer.trip import Person, Trip, TripError, TripSnapshot

from .provider import ToolSpec

if TYPE_CHECKING:
    from .gazetteer import Gazetteer


class ToolError(Exception):
    """A tool call that cannot be applied; the message is for the model to read and fix."""


@dataclass
class ToolContext:
    trip: Trip
    agent: Person
    gazetteer: Callable[[], Gazetteer] | None = None  # default: the shipped offline gazetteer

    def places(self) -> Gazetteer:
        if self.gazetteer is not None:
            return self.gazetteer()
        from .gazetteer import default_gazetteer  # loads ~34k cities: only when first needed

        return default_gazetteer()


Handler = Callable[[ToolContext, dict[str, Any]], dict[str, Any]]

_CATEGORY = {
    "type": "string",
    "enum": ["sight", "food", "lodging", "transport", "activity", "other"],
}
_DAY_REF = {
    "description": 'The day: its id (e.g. "d-1a2b3c4d5e6f"), its number in the trip (1 = first '
    'day), or "" for the unscheduled list.',
    "anyOf": [{"type": "string"}, {"type": "integer", "minimum": 1}],
}
_INDEX = {
    "type": "integer",
    "minimum": 0,
    "description": "Position within the day, 0 = first. Omit to put it last.",
}


# ---------------------------------------------------------------- input helpers


def _require(data: dict[str, Any], key: str) -> Any:
    if key not in data:
        raise ToolError(f"missing required field {key!r}")
    return data[key]


def _optional(data: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = data.get(key, default)
    if value is default:
        return default
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ToolError(f"{key!r} must be {_kind_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise ToolError(f"{key!r} must be {_kind_name(kind)}, got {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _resolve_day(snapshot: TripSnapshot, ref: Any) -> str:
    """A day id from an id, a 1-based day number, or "" (unscheduled)."""
    if ref in ("", None):
        return ""
    if isinstance(ref, bool):
        raise ToolError(f"day must be a day id or number, got {ref!r}")
    if isinstance(ref, str) and ref.isdigit():
        ref = int(ref)
    if isinstance(ref, int):
        if not 1 <= ref <= len(snapshot.days):
            raise ToolError(f"there is no day {ref}; the trip has {len(snapshot.days)} day(s)")
        return snapshot.days[ref - 1].id
    if isinstance(ref, str) and snapshot.day(ref) is not None:
        return ref
    raise ToolError(f"unknown day {ref!r}; use get_itinerary to see the days")


def _stop_summary(snapshot: TripSnapshot, stop_id: str) -> dict[str, Any]:
    stop = snapshot.stop(stop_id)
    if stop is None:
        return {"stop_id": stop_id}
    number = snapshot.day_number(stop.day)
    return {
        "stop_id": stop.id,
        "name": stop.name,
        "day": number if number is not None else "unscheduled",
        "index": [s.id for s in snapshot.stops_in(stop.day)].index(stop.id),
    }


# ---------------------------------------------------------------- the tools


def search_place(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    query = _require(data, "query")
    if not isinstance(query, str) or not query.strip():
        raise ToolError("'query' must be a non-empty place name")
    limit = _optional(data, "limit", int, 5)
    near = None
    snapshot = ctx.trip.plan()
    if snapshot.stops:
        near = (snapshot.stops[0].lat, snapshot.stops[0].lon)
    places = ctx.places().search(query, limit=max(1, min(limit, 10)), near=near)
    return {
        "query": query,
        "results": [
            {
                "name": p.name,
                "kind": p.kind,
                "lat": round(p.lat, 5),
                "lon": round(p.lon, 5),
                "country": p.country,
                **({"city": p.city} if p.city else {}),
                **({"category": p.category} if p.category else {}),
                **({"typical_cost_eur": p.cost_eur} if p.kind == "sight" else {}),
                **({"typical_duration_min": p.duration_min} if p.duration_min else {}),
            }
            for p in places
        ],
    }


def add_day(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    title = _optional(data, "title", str, "")
    date = _optional(data, "date", str, "")
    index = _optional(data, "index", int, None)
    day_id = ctx.trip.add_day(title, date=date, index=index)
    snapshot = ctx.trip.plan()
    return {"day_id": day_id, "day": snapshot.day_number(day_id), "title": title, "date": date}


def add_stop(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    snapshot = ctx.trip.plan()
    day = _resolve_day(snapshot, data.get("day", ""))
    stop_id = ctx.trip.add_stop(
        _require(data, "name"),
        _require(data, "lat"),
        _require(data, "lon"),
        day=day,
        index=_optional(data, "index", int, None),
        start_time=_optional(data, "start_time", str, ""),
        duration_min=data.get("duration_min", 60),
        cost=data.get("cost", 0.0),
        category=data.get("category", "sight"),
        notes=_optional(data, "notes", str, ""),
        added_by=ctx.agent.id,
    )
    return _stop_summary(ctx.trip.plan(), stop_id)


_STOP_FIELDS = ("name", "lat", "lon", "start_time", "duration_min", "cost", "category", "notes")


def update_stop(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    stop_id = _require(data, "stop_id")
    fields = {k: data[k] for k in _STOP_FIELDS if k in data}
    if not fields:
        raise ToolError(f"nothing to change: give at least one of {', '.join(_STOP_FIELDS)}")
    ctx.trip.update_stop(stop_id, **fields)
    return {**_stop_summary(ctx.trip.plan(), stop_id), "changed": sorted(fields)}


def move_stop(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    stop_id = _require(data, "stop_id")
    day = _resolve_day(ctx.trip.plan(), _require(data, "day"))
    ctx.trip.move_stop(stop_id, day, _optional(data, "index", int, None))
    return _stop_summary(ctx.trip.plan(), stop_id)


def remove_stop(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    stop_id = _require(data, "stop_id")
    before = ctx.trip.plan().stop(stop_id) if isinstance(stop_id, str) else None
    ctx.trip.delete_stop(stop_id)
    return {"removed": stop_id, "name": before.name if before else ""}


def adjust_budget(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    if ("delta" in data) == ("set_to" in data):
        raise ToolError("give exactly one of 'delta' (change the limit by) or 'set_to' (new limit)")
    if "delta" in data:
        ctx.trip.adjust_budget(data["delta"])
    else:
        ctx.trip.set_budget_limit(data["set_to"])
    budget = ctx.trip.budget()
    return {"limit": budget.limit, "spent": budget.spent, "currency": ctx.trip.meta().currency}


def set_currency(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    code = _require(data, "currency")
    ctx.trip.set_currency(code.upper() if isinstance(code, str) else code)
    return {"currency": ctx.trip.meta().currency}


def get_itinerary(ctx: ToolContext, data: dict[str, Any]) -> dict[str, Any]:
    return itinerary_summary(ctx.trip.plan())


def itinerary_summary(snapshot: TripSnapshot) -> dict[str, Any]:
    """The plan as the model sees it: compact, with day numbers and stop ids."""

    def stops(day_id: str) -> list[dict[str, Any]]:
        return [
            {
                "stop_id": s.id,
                "name": s.name,
                "lat": round(s.lat, 5),
                "lon": round(s.lon, 5),
                "start_time": s.start_time,
                "duration_min": s.duration_min,
                "cost": s.cost,
                "category": s.category,
                **({"notes": s.notes} if s.notes else {}),
            }
            for s in snapshot.stops_in(day_id)
        ]

    b = snapshot.budget
    return {
        "title": snapshot.meta.title,
        "currency": snapshot.meta.currency,
        "days": [
            {"day": i, "day_id": d.id, "title": d.title, "date": d.date, "stops": stops(d.id)}
            for i, d in enumerate(snapshot.days, start=1)
        ],
        "unscheduled": stops(""),
        "budget": {"limit": b.limit, "spent": b.spent, "remaining": b.remaining},
    }


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    handler: Handler
    edits: bool  # whether it changes the trip


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str], handler: Handler, *, edits: bool = True) -> Tool:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return Tool(ToolSpec(name, description, schema), handler, edits)


TOOLS: dict[str, Tool] = {
    t.spec.name: t
    for t in (
        _tool(
            "search_place",
            "Look up a city, sight or place by name in the offline gazetteer. Returns "
            "coordinates, country and, for well-known sights, typical cost (EUR) and duration.",
            {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 10}},
            ["query"],
            search_place,
            edits=False,
        ),
        _tool(
            "add_day",
            "Add a day to the itinerary (at the end unless index is given).",
            {"title": {"type": "string"}, "date": {"type": "string", "description": "YYYY-MM-DD or empty"}, "index": _INDEX},
            [],
            add_day,
        ),
        _tool(
            "add_stop",
            "Add a stop (a place to visit, eat, sleep...) to a day, with real coordinates.",
            {
                "name": {"type": "string"},
                "lat": {"type": "number"},
                "lon": {"type": "number"},
                "day": _DAY_REF,
                "index": _INDEX,
                "start_time": {"type": "string", "description": "HH:MM or empty"},
                "duration_min": {"type": "integer", "minimum": 0},
                "cost": {"type": "number", "minimum": 0, "description": "in the trip's currency"},
                "category": _CATEGORY,
                "notes": {"type": "string"},
            },
            ["name", "lat", "lon", "day"],
            add_stop,
        ),
        _tool(
            "update_stop",
            "Change fields of an existing stop (only the ones given).",
            {
                "stop_id": {"type": "string"},
                "name": {"type": "string"},
                "lat": {"type": "number"},
                "lon": {"type": "number"},
                "start_time": {"type": "string"},
                "duration_min": {"type": "integer", "minimum": 0},
                "cost": {"type": "number", "minimum": 0},
                "category": _CATEGORY,
                "notes": {"type": "string"},
            },
            ["stop_id"],
            update_stop,
        ),
        _tool(
            "move_stop",
            "Move a stop to another day and/or position.",
            {"stop_id": {"type": "string"}, "day": _DAY_REF, "index": _INDEX},
            ["stop_id", "day"],
            move_stop,
        ),
        _tool("remove_stop", "Remove a stop from the trip.", {"stop_id": {"type": "string"}}, ["stop_id"], remove_stop),
        _tool(
            "adjust_budget",
            "Change the trip's budget limit: by 'delta' (e.g. 200 or -50) or to 'set_to'.",
            {"delta": {"type": "number"}, "set_to": {"type": "number", "minimum": 0}},
            [],
            adjust_budget,
        ),
        _tool(
            "set_currency",
            "Set the trip's currency (ISO 4217 code such as EUR, USD, JPY).",
            {"currency": {"type": "string"}},
            ["currency"],
            set_currency,
        ),
        _tool(
            "get_itinerary",
            "Read the current itinerary: days with their stops (ids, times, costs) and the budget.",
            {},
            [],
            get_itinerary,
            edits=False,
        ),
    )
}

TOOL_SPECS: tuple[ToolSpec, ...] = tuple(t.spec for t in TOOLS.values())


def run_tool(ctx: ToolContext, name: str, data: Any) -> dict[str, Any]:
    """Execute one tool call; raises `ToolError` with a message for the model."""
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolError(f"unknown tool {name!r}; available: {', '.join(TOOLS)}")
    if not isinstance(data, dict):
        raise ToolError("tool input must be a JSON object")
    unknown = set(data) - set(tool.spec.input_schema["properties"])
    if unknown:
        raise ToolError(f"unknown field(s) {', '.join(sorted(unknown))} for {name}")
    try:
        return tool.handler(ctx, data)
    except TripError as exc:
        raise ToolError(str(exc)) from None
