"""Rebuilds the model's conversation from the trip's `chat`, every run.

There is no other store of history: what the model sees is what every peer sees. Tool
calls recorded on assistant messages are replayed as tool_use / tool_result pairs so the
model knows what it already did.
"""

from __future__ import annotations

import json

from wayfarer.trip import Message, TripSnapshot

from .provider import TextBlock, ToolResultBlock, ToolUseBlock, Turn
from .tools import itinerary_summary

# Older history is dropped past this many messages (the itinerary itself is always
# given in full in the system prompt, so little is lost).
MAX_MESSAGES = 60


def _assistant_turns(message: Message) -> list[Turn]:
    turns: list[Turn] = []
    calls = [c for c in message.tool_calls if c.status in ("ok", "error") and c.id]
    if calls:
        turns.append(Turn("assistant", tuple(ToolUseBlock(c.id, c.name, c.input_data) for c in calls)))
        turns.append(
            Turn("user", tuple(ToolResultBlock(c.id, c.result or "{}", is_error=c.status == "error") for c in calls))
        )
    if message.text.strip():
        turns.append(Turn("assistant", (TextBlock(message.text),)))
    return turns


def _merge(turns: list[Turn]) -> list[Turn]:
    """Consecutive turns of one role become one (the API requires alternation)."""
    merged: list[Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = Turn(turn.role, merged[-1].blocks + turn.blocks)
        else:
            merged.append(turn)
    return merged


def conversation(snapshot: TripSnapshot, trigger_id: str) -> tuple[Turn, ...]:
    """The turns up to and including the message that triggered the run.

    Messages posted after the trigger (queued follow-ups) are not part of this run.
    """
    messages: list[Message] = []
    for message in snapshot.chat:
        messages.append(message)
        if message.id == trigger_id:
            break
    messages = messages[-MAX_MESSAGES:]
    turns: list[Turn] = []
    for message in messages:
        if message.role == "user":
            who = message.author_name or message.author or "someone"
            turns.append(Turn("user", (TextBlock(f"{who}: {message.text}"),)))
        else:
            turns.extend(_assistant_turns(message))
    merged = _merge(turns)
    while merged and merged[0].role != "user":
        merged.pop(0)
    return tuple(merged)


def system_prompt(snapshot: TripSnapshot, today: str) -> str:
    plan = json.dumps(itinerary_summary(snapshot), ensure_ascii=False)
    return (
        "You are Wayfarer, a travel-planning agent working inside a shared trip that several "
        "people edit live. Plan concretely: use search_place for real coordinates, add days "
        "and stops with the tools (each tool call appears on everyone's board at once), keep "
        "stops of a day geographically close and in a sensible order, give costs in the "
        "trip's currency and keep an eye on the budget. Be brief and friendly; refer to days "
        "by number. Messages from people start with their name.\n\n"
        f"Today is {today}. The trip right now (JSON):\n{plan}"
    )

