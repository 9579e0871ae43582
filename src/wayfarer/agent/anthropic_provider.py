"""Claude through Anthropic's Messages API (`anthropic` SDK, streamed) as a `Provider`.

Retries are ours, not the SDK's (its `max_retries` is 0): a transient failure (rate limit,
overload, server error, network) is retried with exponential backoff only while nothing
has been yielded in this call. Every yielded delta is already in the shared document, so
a retry after output would write the reply twice; such a failure is raised at once as a
transient `ModelError`.

Stop: the run loop closes this generator; that leaves `messages.stream()`'s `async with`,
which closes the HTTP response, so the request ends on the wire at once.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, NamedTuple

import anthropic
import anyio
import httpx2
from anthropic.lib.streaming import AsyncMessageStream
from anthropic.types import Usage

from .provider import (
    Block,
    Finished,
    ModelError,
    ModelEvent,
    ModelRequest,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolUse,
    ToolUseBlock,
    Turn,
)

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_THINKING_BUDGET = 2048  # reasoning worth showing, at a modest cost (the minimum is 1024)


class _ReplyCutShort(Exception):
    """The HTTP body ended cleanly but before `message_stop`."""


_LATER = "Try again in a few minutes."


class _Failure(NamedTuple):
    """A failure in words: what went wrong, what the person can do, and whether trying
    again may help."""

    what: str
    advice: str
    transient: bool

    def error(self, *, tries: int, partial: bool) -> ModelError:
        what = self.what
        if partial:
            what += "; the reply stopped part-way"
        elif tries > 1:
            what += f" (tried {tries} times)"
        return ModelError(f"{what}. {self.advice}".strip(), transient=self.transient)


class AnthropicProvider:
    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        *,
        base_url: str | None = None,
        thinking_budget: int | None = DEFAULT_THINKING_BUDGET,
        max_retries: int = 3,
        retry_base_delay: float = 0.5,
    ) -> None:
        """`thinking_budget`: tokens of extended thinking per call (streamed as reasoning),
        or None for none. `max_retries`: how often a transient failure before any output
        is retried, waiting `retry_base_delay` × 2ⁿ (with jitter) before retry n + 1."""
        self._model = model
        self._thinking_budget = thinking_budget
        self._max_retries = max_retries
        self._retry_base_delay = retry_base_delay
        self._client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0)

    @property
    def label(self) -> str:
        return self._model

    async def aclose(self) -> None:
        """Closes the HTTP connection pool."""
        await self._client.close()

    async def __aenter__(self) -> AnthropicProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        params = self._request_params(request)
        retries = 0
        while True:
            yielded = False
            try:
                async with self._client.messages.stream(**params) as stream:
                    async for event in _model_events(stream):
                        yielded = True
                        yield event
                return
            except (anthropic.APIError, httpx2.TransportError, _ReplyCutShort) as exc:
                failure = self._describe(exc)
                if not failure.transient or yielded or retries == self._max_retries:
                    raise failure.error(tries=retries + 1, partial=yielded) from exc
            except ValueError as exc:  # the SDK could not parse an event or a tool call's JSON
                raise ModelError(f"Anthropic's reply could not be read: {exc}") from exc
            retries += 1
            await anyio.sleep(self._retry_base_delay * 2 ** (retries - 1) * random.uniform(0.8, 1.2))

    def _request_params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self._model,
            "max_tokens": request.max_tokens,
            "messages": _api_messages(request.turns),
        }
        if request.system:
            params["system"] = request.system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
        # With thinking on, the API requires the assistant turn that holds a pending tool
        # call to start with the thinking block (and its signature) it came with. Our turns
        # are rebuilt from the chat, which keeps no signatures, so thinking is on only for
        # the first call of a run, before any tool result is being returned; the follow-up
        # calls in the tool loop run without it, which the API accepts.
        if self._thinking_budget and not _returns_tool_results(request.turns):
            params["thinking"] = {"type": "enabled", "budget_tokens": self._thinking_budget}
            # Thinking tokens count toward max_tokens: add them so the answer keeps its room.
            params["max_tokens"] = request.max_tokens + self._thinking_budget
        return params

    def _describe(self, exc: Exception) -> _Failure:
        if isinstance(exc, anthropic.APIStatusError):
            return _describe_status(exc, self._model)
        if isinstance(exc, anthropic.APITimeoutError):
            return _Failure("Anthropic did not answer in time", _LATER, transient=True)
        if isinstance(exc, anthropic.APIConnectionError):
            cause = f": {exc.__cause__}" if exc.__cause__ else ""
            what = f"Could not reach Anthropic at {self._client.base_url}{cause}"
            return _Failure(what, "Check the network connection.", transient=True)
        if isinstance(exc, (httpx2.TransportError, _ReplyCutShort)):
            what = "The connection to Anthropic broke off in the middle of the reply"
            return _Failure(what, _LATER, transient=True)
        return _Failure(f"The Anthropic API failed: {exc}", "", transient=False)


def _describe_status(exc: anthropic.APIStatusError, model: str) -> _Failure:
    status, kind = exc.status_code, exc.type
    detail = f": {exc.api_message}" if exc.api_message else ""
    if status == 401 or kind == "authentication_error":
        advice = "Check ANTHROPIC_API_KEY or the key in the settings."
        return _Failure("Anthropic rejected the API key", advice, transient=False)
    if status == 403 or kind == "permission_error":
        what = f"Anthropic refused access to {model} with this API key{detail}"
        return _Failure(what, "", transient=False)
    if status == 404 or kind == "not_found_error":
        what = f"Anthropic does not know the model {model!r} (or the API address is wrong)"
        return _Failure(what, "Choose another model.", transient=False)
    if status == 429 or kind == "rate_limit_error":
        what = "Anthropic's rate limit for this API key was reached"
        return _Failure(what, "Wait a minute and try again.", transient=True)
    if status == 529 or kind == "overloaded_error":
        return _Failure("Anthropic is overloaded right now", _LATER, transient=True)
    if status >= 500 or kind in ("api_error", "timeout_error"):
        what = f"Anthropic had a server error ({kind or f'HTTP {status}'})"
        return _Failure(what, _LATER, transient=True)
    if status == 200:  # an SSE `error` event, which the SDK raises with the stream's status
        what = f"Anthropic reported an error during the reply ({kind}){detail}"
        return _Failure(what, "", transient=False)
    return _Failure(f"Anthropic rejected the request (HTTP {status}){detail}", "", transient=False)


async def _model_events(stream: AsyncMessageStream[Any]) -> AsyncIterator[ModelEvent]:
    """Translates the SDK's stream into ours; raises `_ReplyCutShort` if it ends early."""
    tool_json: dict[int, str] = {}  # content block index → the tool input's JSON so far
    async for event in stream:
        if event.type == "thinking" and event.thinking:
            yield ReasoningDelta(event.thinking)
        elif event.type == "text" and event.text:
            yield TextDelta(event.text)
        elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
            tool_json[event.index] = tool_json.get(event.index, "") + event.delta.partial_json
        elif event.type == "content_block_stop" and event.content_block.type == "tool_use":
            block = event.content_block
            yield ToolUse(block.id, block.name, _tool_input(block.name, tool_json.get(event.index, "")))
        elif event.type == "message_stop":
            yield Finished(event.message.stop_reason or "end_turn", _usage(event.message.usage))
            return
    raise _ReplyCutShort


def _tool_input(name: str, raw: str) -> dict[str, Any]:
    """Parses a finished tool input strictly. The SDK's own snapshot is parsed leniently
    (partial JSON), which would turn an input cut off by max_tokens into a smaller call."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ModelError(
            f"Claude's call to the tool {name} came with incomplete input (the reply was cut short?)."
        )
    return value


def _usage(usage: Usage) -> dict[str, int]:
    counts = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
    }
    return {name: count for name, count in counts.items() if isinstance(count, int)}


def _returns_tool_results(turns: tuple[Turn, ...]) -> bool:
    return bool(turns) and any(isinstance(b, ToolResultBlock) for b in turns[-1].blocks)


def _api_messages(turns: tuple[Turn, ...]) -> list[dict[str, Any]]:
    """Our turns in the Messages API's shape. Consecutive turns of one role are merged
    and blank text dropped (the API refuses both), and in a user turn the tool results
    come first (the API requires them right after the assistant's tool calls)."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        content = [_api_block(b) for b in turn.blocks if not _is_blank(b)]
        if not content:
            continue
        if messages and messages[-1]["role"] == turn.role:
            content = messages.pop()["content"] + content
        if turn.role == "user":
            content.sort(key=lambda block: block["type"] != "tool_result")  # stable
        messages.append({"role": turn.role, "content": content})
    return messages


def _is_blank(block: Block) -> bool:
    return isinstance(block, TextBlock) and not block.text.strip()


def _api_block(block: Block) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    result: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": block.tool_use_id,
        "content": block.content,
    }
    if block.is_error:
        result["is_error"] = True
    return result
