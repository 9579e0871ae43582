"""One-line descriptions of tool calls ("Added Belém Tower to Day 2"), for the chat view
and the terminal peer. Pure: reads a recorded `ToolCall`, never the model."""

from __future__ import annotations

from typing import Any

from wayfarer.trip import ToolCall


def _day(value: Any) -> str:
    if value in ("", None, "unscheduled"):
        return "the unscheduled list"
    return f"Day {value}"


def describe_tool_call(call: ToolCall) -> str:
    args, result = call.input_data, call.result_data
    if call.status == "error":
        return f"{call.name} failed: {result.get('error', 'unknown error')}"
    running = call.status == "running"
    name = result.get("name") or args.get("name") or ""
    if call.name == "search_place":
        found = result.get("results") or []
        if running:
            return f"Looking up {args.get('query', '')}…"
        return f"Looked up {args.get('query', '')}: " + (found[0]["name"] if found else "nothing found")
    if call.name == "add_day":
        return "Adding a day…" if running else f"Added Day {result.get('day', '?')}" + (f": {result['title']}" if result.get("title") else "")
    if call.name == "add_stop":
        return f"Adding {name}…" if running else f"Added {name} to {_day(result.get('day'))}"
    if call.name == "update_stop":
        return f"Updating {name or 'a stop'}…" if running else f"Updated {name} ({', '.join(result.get('changed', []))})"
    if call.name == "move_stop":
        return "Moving a stop…" if running else f"Moved {name} to {_day(result.get('day'))}"
    if call.name == "remove_stop":
        return "Removing a stop…" if running else f"Removed {name or 'a stop'}"
    if call.name == "adjust_budget":
        if running:
            return "Changing the budget…"
        return f"Budget limit now {result.get('limit', 0):,.0f} {result.get('currency', '')}".rstrip()
    if call.name == "set_currency":
        return "Changing currency…" if running else f"Currency set to {result.get('currency', '')}"
    if call.name == "get_itinerary":
        return "Reading the itinerary…" if running else "Read the itinerary"
    return f"{call.name} ({call.status})"
