"""The one small streaming interface every model provider implements.

The run loop (`wayfarer.agent.run`) builds a `ModelRequest` from the trip's chat, calls
`Provider.stream`, and consumes `ModelEvent`s. It does not know which provider runs:
Anthropic's API or the offline planner.

Cancellation: the run loop iterates the stream inside `contextlib.aclosing`; leaving it
early (Stop) closes the generator, and a provider must then close its network stream at
once (for Anthropic: leave `messages.stream()`'s `async with`, which closes the HTTP
connection).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Union

from wayfarer.trip.model import TripSnapshot

# ---------------------------------------------------------------- conversation


@dataclass(frozen=True)
class TextBlock:
    text: str


@dataclass(frozen=True)
class ToolUseBlock:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ToolResultBlock:
    tool_use_id: str
    content: str  # JSON text
    is_error: bool = False


Block = Union[TextBlock, ToolUseBlock, ToolResultBlock]


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ModelRequest:
    system: str
    turns: tuple[Turn, ...]
    tools: tuple[ToolSpec, ...]
    max_tokens: int = 4096
    # The plan as the run sees it (`Trip.plan()`: chat and runs left empty). Remote models
    # get it through `system`; the offline planner reads it directly.
    trip: TripSnapshot | None = None
    # Who is asking (display name), for a friendly reply.
    asker_name: str = ""


# ---------------------------------------------------------------- streamed events


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolUse:
    """A complete tool call (its input fully streamed and parsed)."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Finished:
    """The model ended its turn. `stop_reason` is "end_turn", "tool_use", "max_tokens"
    or "stop_sequence"; with "tool_use" the run loop executes the tools and calls again."""

    stop_reason: str
    usage: dict[str, int] = field(default_factory=dict)


ModelEvent = Union[TextDelta, ReasoningDelta, ToolUse, Finished]


class ModelError(Exception):
    """A provider failure, in words a person can read (it becomes the run's end_reason).

    `transient` errors (overload, rate limit, network) were already retried by the
    provider; they are still reported as such so the UI can suggest trying again.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Provider(Protocol):
    @property
    def label(self) -> str:
        """What runs, as recorded in the run's `model` field (e.g. "claude-sonnet-4-6")."""
        ...

    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        """Stream one model turn. An async generator; raise `ModelError` on failure."""
        ...
