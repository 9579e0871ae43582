"""The Anthropic provider, with the real SDK over real HTTP against a local Messages API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import aclosing

import anyio
import pytest
from anthropic_server import (
    AnthropicTestServer,
    ContentBlock,
    ScriptedStream,
    error,
    reply,
    text_block,
    text_turn,
    tool_turn,
)

from wayfarer.agent.anthropic_provider import AnthropicProvider
from wayfarer.agent.provider import (
    Finished,
    ModelError,
    ModelEvent,
    ModelRequest,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolSpec,
    ToolUse,
    ToolUseBlock,
    Turn,
)

pytestmark = pytest.mark.anyio

THINKING_BUDGET = 1024
ADD_STOP = ToolSpec(
    name="add_stop",
    description="Adds a stop to a day.",
    input_schema={"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
)
QUESTION = ModelRequest(
    system="You plan trips.",
    turns=(Turn("user", (TextBlock("Ana: three days in Lisbon?"),)),),
    tools=(ADD_STOP,),
    max_tokens=1000,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # what the app and the agent run on (not trio, even when installed)


@pytest.fixture
async def provider(anthropic_server: AnthropicTestServer) -> AsyncIterator[AnthropicProvider]:
    async with AnthropicProvider(
        "test-key",
        base_url=anthropic_server.base_url,
        thinking_budget=THINKING_BUDGET,
        max_retries=2,
        retry_base_delay=0.001,
    ) as provider:
        yield provider


async def collect(provider: AnthropicProvider, request: ModelRequest = QUESTION) -> list[ModelEvent]:
    with anyio.fail_after(20):
        return [event async for event in provider.stream(request)]


async def collect_until_error(
    provider: AnthropicProvider, request: ModelRequest = QUESTION
) -> tuple[list[ModelEvent], ModelError]:
    events: list[ModelEvent] = []
    with anyio.fail_after(20), pytest.raises(ModelError) as raised:
        async for event in provider.stream(request):
            events.append(event)
    return events, raised.value


def streamed_text(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_thinking_then_text_stream_in_order(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(
        text_turn("Lisbon in three days.", chunks=3, thinking="Food lovers; walkable.")
    )

    events = await collect(provider)

    assert [type(e) for e in events] == [ReasoningDelta] * 3 + [TextDelta] * 3 + [Finished]
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Food lovers; walkable."
    assert streamed_text(events) == "Lisbon in three days."
    assert events[-1] == Finished("end_turn", {"input_tokens": 25, "output_tokens": 7})
    body = anthropic_server.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": THINKING_BUDGET}
    assert body["max_tokens"] == 1000 + THINKING_BUDGET  # the answer keeps all its tokens


async def test_chunked_tool_input_arrives_as_one_parsed_tool_use(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    stop = {"name": "Belém Tower", "lat": 38.6916, "lon": -9.216, "tags": ["sight", "river"]}
    scripted = tool_turn("add_stop", stop, chunks=4, text="Adding it.", id="toolu_01")
    deltas = [data["delta"]["type"] for name, data in scripted.events if name == "content_block_delta"]
    assert deltas.count("input_json_delta") == 4
    anthropic_server.script(scripted)

    events = await collect(provider)

    assert events == [
        TextDelta("Adding it."),
        ToolUse("toolu_01", "add_stop", stop),
        Finished("tool_use", {"input_tokens": 25, "output_tokens": 5}),
    ]


async def test_tool_input_cut_off_by_the_token_limit_is_not_run(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    truncated = ContentBlock(
        {"type": "tool_use", "id": "toolu_01", "name": "add_stop", "input": {}},
        ({"type": "input_json_delta", "partial_json": '{"name": "Belém To'},),
    )
    anthropic_server.script(reply(text_block("Adding it."), truncated, stop_reason="max_tokens"))

    events, failure = await collect_until_error(provider)

    assert not any(isinstance(e, ToolUse) for e in events)
    assert "add_stop came with incomplete input" in str(failure)


async def test_request_carries_system_tools_model_and_tool_turns(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(text_turn("Done."))
    follow_up = ModelRequest(
        system="You plan trips.",
        turns=(
            Turn("user", (TextBlock("Ana: add Belém"),)),
            Turn(
                "assistant",
                (TextBlock("On it."), ToolUseBlock("toolu_01", "add_stop", {"name": "Belém"})),
            ),
            Turn("user", (TextBlock("Bo: and lunch"),)),
            Turn("user", (ToolResultBlock("toolu_01", '{"stop": "s1"}'),)),
            Turn("assistant", (TextBlock("  "),)),
            Turn("user", (ToolResultBlock("toolu_02", '{"error": "no such day"}', is_error=True),)),
        ),
        tools=(ADD_STOP,),
        max_tokens=1000,
    )

    await collect(provider, follow_up)

    request = anthropic_server.requests[0]
    assert request.path == "/v1/messages"
    assert request.api_key == "test-key"
    assert request.body["model"] == "claude-sonnet-4-6"
    assert request.body["system"] == "You plan trips."
    assert request.body["tools"] == [
        {
            "name": "add_stop",
            "description": "Adds a stop to a day.",
            "input_schema": ADD_STOP.input_schema,
        }
    ]
    # Same-role turns merged, the blank assistant text dropped, tool results first.
    assert request.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Ana: add Belém"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "On it."},
                {"type": "tool_use", "id": "toolu_01", "name": "add_stop", "input": {"name": "Belém"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": '{"stop": "s1"}'},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_02",
                    "content": '{"error": "no such day"}',
                    "is_error": True,
                },
                {"type": "text", "text": "Bo: and lunch"},
            ],
        },
    ]
    # Returning tool results: no thinking, as the replayed turn has no thinking signature.
    assert "thinking" not in request.body
    assert request.body["max_tokens"] == 1000


async def test_rejected_key_is_reported_and_not_retried(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(error(401), text_turn("unused"))

    events, failure = await collect_until_error(provider)

    assert events == []
    assert "Anthropic rejected the API key" in str(failure)
    assert not failure.transient
    assert len(anthropic_server.requests) == 1


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (403, "refused access to claude-sonnet-4-6"),
        (404, "does not know the model 'claude-sonnet-4-6'"),
        (400, "HTTP 400"),
    ],
)
async def test_refusals_are_readable_and_not_retried(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer, status: int, words: str
) -> None:
    anthropic_server.script(error(status), text_turn("unused"))

    _, failure = await collect_until_error(provider)

    assert words in str(failure)
    assert not failure.transient
    assert len(anthropic_server.requests) == 1


async def test_rate_limit_is_retried_then_succeeds(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(error(429), error(500), text_turn("Hello!"))

    events = await collect(provider)

    assert streamed_text(events) == "Hello!"
    assert len(anthropic_server.requests) == 3


async def test_persistent_overload_gives_up_after_max_retries(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(error(529), error(529), error(529), text_turn("unused"))

    _, failure = await collect_until_error(provider)

    assert "overloaded" in str(failure)
    assert "tried 3 times" in str(failure)
    assert failure.transient
    assert len(anthropic_server.requests) == 3  # one call and max_retries=2 retries


async def test_sse_error_before_any_output_is_retried(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(
        text_turn("Hel").then_error("overloaded_error", after_deltas=0), text_turn("Hello!")
    )

    events = await collect(provider)

    assert streamed_text(events) == "Hello!"
    assert len(anthropic_server.requests) == 2


async def test_sse_error_after_output_fails_without_repeating_text(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(
        text_turn("Hello there", chunks=2).then_error("overloaded_error", after_deltas=1),
        text_turn("Hello there"),
    )

    events, failure = await collect_until_error(provider)

    assert streamed_text(events) == "Hello "
    assert "overloaded right now; the reply stopped part-way" in str(failure)
    assert failure.transient
    assert len(anthropic_server.requests) == 1


async def test_stream_cut_mid_way_is_a_model_error(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(text_turn("Hello there", chunks=3).cut(after_deltas=1), text_turn("unused"))

    events, failure = await collect_until_error(provider)

    assert streamed_text(events) == "Hell"
    assert "broke off" in str(failure)
    assert failure.transient
    assert len(anthropic_server.requests) == 1


async def test_stream_cut_before_any_output_is_retried(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(text_turn("Hello").cut(after_deltas=0), text_turn("Hello!"))

    events = await collect(provider)

    assert streamed_text(events) == "Hello!"
    assert len(anthropic_server.requests) == 2


async def test_body_ending_before_message_stop_is_a_broken_reply(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    complete = text_turn("Hello there", chunks=2)
    anthropic_server.script(ScriptedStream(complete.events[:-2]))  # no message_delta, no message_stop

    events, failure = await collect_until_error(provider)

    assert streamed_text(events) == "Hello there"
    assert not any(isinstance(e, Finished) for e in events)
    assert "broke off" in str(failure)


async def test_unreachable_api_is_a_transient_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = f"http://127.0.0.1:{port}"
    async with AnthropicProvider("test-key", base_url=unreachable, retry_base_delay=0.001) as provider:
        _, failure = await collect_until_error(provider)

    assert "Could not reach Anthropic" in str(failure)
    assert "tried 4 times" in str(failure)
    assert failure.transient


async def test_leaving_early_closes_the_http_stream(
    provider: AnthropicProvider, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(text_turn("word " * 100, chunks=100, delay=0.05))  # about 5 s in all

    with anyio.fail_after(20):
        async with aclosing(provider.stream(QUESTION)) as events:
            async for event in events:
                assert isinstance(event, TextDelta)
                break
        request = anthropic_server.requests[0]
        assert await anyio.to_thread.run_sync(request.wait_disconnected, 15)

    assert not request.completed
