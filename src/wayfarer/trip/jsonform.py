"""The JSON form of a trip: the shape `wayfarer trip show --json` prints (DESIGN.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .model import TripSnapshot


def snapshot_to_json(snapshot: TripSnapshot) -> dict[str, Any]:
    b = snapshot.budget
    return {
        "meta": asdict(snapshot.meta),
        "days": [asdict(d) for d in snapshot.days],
        "stops": [asdict(s) for s in snapshot.stops],
        "budget": {
            "limit": b.limit,
            "spent": b.spent,
            "remaining": b.remaining,
            "by_category": dict(sorted(b.by_category.items())),
            "by_day": {day or "unscheduled": v for day, v in b.by_day.items()},
        },
        "chat": [
            {
                "id": m.id,
                "role": m.role,
                "author": m.author,
                "author_name": m.author_name,
                "created_at": m.created_at,
                "text": m.text,
                "run_id": m.run_id,
                "reasoning": m.reasoning,
                "tool_calls": [asdict(c) for c in m.tool_calls],
            }
            for m in snapshot.chat
        ],
        "runs": [asdict(r) for r in snapshot.runs],
        "problems": list(snapshot.problems),
    }


def snapshot_to_json_text(snapshot: TripSnapshot, *, indent: int | None = 2) -> str:
    return json.dumps(snapshot_to_json(snapshot), ensure_ascii=False, indent=indent)
