"""What a reply's run looks like to a person: one short line and a tone, from plain values.

Pure (no Qt), so every wording can be tested without a window.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from wayfarer.trip import Run

Tone = Literal["live", "muted", "warn", "error"]

# A queued run with no agent around for this long is not "about to start": say so.
AGENT_OFFLINE_AFTER_S = 6.0
# Matches the agent's own timeout for marking a silent run interrupted.
STALLED_AFTER_S = 30.0


@dataclass(frozen=True)
class RunStatus:
    text: str
    tone: Tone


def parse_time(value: str) -> _dt.datetime | None:
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)


def local_clock(value: str, *, now: _dt.datetime | None = None) -> str:
    """"14:05" today, "12 Nov 14:05" on another day (local time); "" if unreadable."""
    when = parse_time(value)
    if when is None:
        return ""
    local = when.astimezone()
    today = (now or _dt.datetime.now().astimezone()).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%d %b %H:%M").lstrip("0")


def run_status(
    run: Run,
    *,
    has_output: bool,
    agent_absent_for: float,
    name_of: Callable[[str], str | None],
    now: _dt.datetime | None = None,
) -> RunStatus | None:
    """The line shown with a reply, or None when there is nothing to say (completed)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    if run.status in ("queued", "running") and run.cancel_requested_by:
        return RunStatus("Stopping…", "live")
    if run.status == "queued":
        if agent_absent_for >= AGENT_OFFLINE_AFTER_S:
            return RunStatus("Agent offline · it answers when an agent joins", "warn")
        return RunStatus("Queued", "live")
    if run.status == "running":
        beat = parse_time(run.heartbeat_at or run.started_at)
        if beat is not None and (now - beat).total_seconds() > STALLED_AFTER_S:
            return RunStatus(f"Stalled · no word from the agent since {local_clock(run.heartbeat_at)}", "warn")
        return RunStatus("Streaming…" if has_output else "Thinking…", "live")
    if run.status == "cancelled":
        who = name_of(run.cancel_requested_by) if run.cancel_requested_by else None
        if who:
            return RunStatus(f"Cancelled by {who}", "muted")
        return RunStatus(f"Cancelled · {run.end_reason}" if run.end_reason else "Cancelled", "muted")
    if run.status == "failed":
        return RunStatus(f"Failed: {run.end_reason or 'the agent gave no reason'}", "error")
    if run.status == "interrupted":
        return RunStatus(f"Interrupted · {run.end_reason}" if run.end_reason else "Interrupted", "warn")
    return None
