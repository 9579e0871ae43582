"""A real local HTTP server that speaks Anthropic's Messages streaming protocol, for tests.

Point the real `anthropic` SDK (or the agent daemon, as a subprocess) at `server.base_url`
and script one response per request, in the order the requests will arrive:

    def test_something(anthropic_server):              # or: with AnthropicTestServer() as s:
        anthropic_server.script(
            text_turn("Lisbon it is!", chunks=4, thinking="They like food."),
            tool_turn("add_stop", {"name": "Belém Tower"}, chunks=3, text="Adding it."),
            error(529),                                # HTTP 529 with an overloaded_error body
            text_turn("Hello").then_error("overloaded_error", after_deltas=1),  # SSE error
            text_turn("Hello", chunks=3).cut(after_deltas=1),  # socket closed mid-stream
            text_turn("word " * 40, chunks=40, delay=0.05),  # 0.05 s before every event
        )
        provider = AnthropicProvider("test-key", base_url=anthropic_server.base_url)
        ...
        first = anthropic_server.requests[0]
        first.body["messages"], first.api_key, first.headers["anthropic-version"]
        assert anthropic_server.requests[-1].wait_disconnected(timeout=10)

Import what you use, the fixture included: `from anthropic_server import anthropic_server,
text_turn, ...` (a test module in tests/ can import this module directly).

Replies are built from blocks: `reply(thinking_block(...), text_block(...),
tool_use_block(...))`; `text_turn` and `tool_turn` are shorthands. `then_error` and `cut`
count `content_block_delta` events (`after_deltas=0`: before any content). Every reply
reports usage `input_tokens=25` and `output_tokens` = its number of deltas, and echoes the
requested model.

What the server records per request (`RecordedRequest`): path, lower-cased headers, the JSON
body, the key (from `x-api-key` or `Authorization: Bearer`), whether the whole scripted
response was sent (`completed`) and, if the client hung up before that, when
(`disconnected_at`, a `time.monotonic()` value; `wait_disconnected(timeout)` blocks until
then). `wait_for_requests(n, timeout)` blocks until n requests arrived, for a client in
another process. Both block: from async code, call them through `anyio.to_thread.run_sync`. A request with nothing left to replay gets HTTP 400 saying so, so a test
that asks more than it scripted fails with a readable message.

The server runs in a background thread on 127.0.0.1 with a free port; responses are
streamed with chunked transfer encoding, like the real API, so a cut stream is an
incomplete body to the client, not a clean end.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union
from urllib.parse import urlsplit

import pytest

# ---------------------------------------------------------------- scripted responses

SseEvent = tuple[str, dict[str, Any]]  # (event name, JSON data)

_PREAMBLE = ("message_start", "ping")


@dataclass(frozen=True)
class ContentBlock:
    """One content block of a scripted reply: its start payload and its deltas."""

    start: dict[str, Any]
    deltas: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ScriptedStream:
    """An SSE response: `events` in order, `delay` seconds before each one; with
    `hang_up` the socket is closed after the last event instead of ending the body."""

    events: tuple[SseEvent, ...]
    delay: float = 0.0
    hang_up: bool = False

    def then_error(
        self, type: str = "overloaded_error", *, after_deltas: int = 1, message: str | None = None
    ) -> ScriptedStream:
        """The stream stops after `after_deltas` content deltas with an SSE `error` event."""
        failure = _event("error", error={"type": type, "message": message or _default_message(type)})
        return replace(self, events=_through_delta(self.events, after_deltas) + (failure,))

    def cut(self, *, after_deltas: int = 1) -> ScriptedStream:
        """The server closes the socket after `after_deltas` content deltas."""
        return replace(self, events=_through_delta(self.events, after_deltas), hang_up=True)


@dataclass(frozen=True)
class ScriptedError:
    """A plain HTTP error response with Anthropic's error JSON body."""

    status: int
    type: str
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)


ScriptedResponse = Union[ScriptedStream, ScriptedError]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

_ERROR_MESSAGES = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}


def _default_message(type: str) -> str:
    return _ERROR_MESSAGES.get(type, type)


def error(
    status: int,
    type: str | None = None,
    message: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> ScriptedError:
    """An HTTP error, e.g. `error(401)`, `error(429, headers={"retry-after": "1"})`."""
    error_type = type or _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return ScriptedError(status, error_type, message or _default_message(error_type), dict(headers or {}))


def _split(text: str, chunks: int) -> list[str]:
    """`text` in `chunks` non-empty pieces of near-equal size (fewer if it is shorter)."""
    count = max(1, min(chunks, len(text)))
    bounds = [round(i * len(text) / count) for i in range(count + 1)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(count)]


def thinking_block(text: str, *, chunks: int = 1, signature: str = "test-signature") -> ContentBlock:
    deltas = [{"type": "thinking_delta", "thinking": piece} for piece in _split(text, chunks)]
    deltas.append({"type": "signature_delta", "signature": signature})
    return ContentBlock({"type": "thinking", "thinking": "", "signature": ""}, tuple(deltas))


def text_block(text: str, *, chunks: int = 1) -> ContentBlock:
    deltas = tuple({"type": "text_delta", "text": piece} for piece in _split(text, chunks))
    return ContentBlock({"type": "text", "text": ""}, deltas)


def tool_use_block(
    name: str, input: dict[str, Any], *, chunks: int = 3, id: str | None = None
) -> ContentBlock:
    """A tool call whose JSON input arrives in `chunks` partial `input_json_delta`s."""
    tool_id = id or f"toolu_{uuid.uuid4().hex[:24]}"
    raw = json.dumps(input, ensure_ascii=False)
    deltas = tuple({"type": "input_json_delta", "partial_json": piece} for piece in _split(raw, chunks))
    return ContentBlock({"type": "tool_use", "id": tool_id, "name": name, "input": {}}, deltas)


def reply(*blocks: ContentBlock, stop_reason: str | None = None, delay: float = 0.0) -> ScriptedStream:
    """A complete streamed message. The stop reason defaults to "tool_use" when a block
    is a tool call, else "end_turn"."""
    if stop_reason is None:
        stop_reason = "tool_use" if any(b.start["type"] == "tool_use" for b in blocks) else "end_turn"
    message: dict[str, Any] = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": "",  # the server fills in the model the request named
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1},
    }
    events = [_event("message_start", message=message), _event("ping")]
    for index, block in enumerate(blocks):
        events.append(_event("content_block_start", index=index, content_block=block.start))
        events.extend(_event("content_block_delta", index=index, delta=d) for d in block.deltas)
        events.append(_event("content_block_stop", index=index))
    events.append(
        _event(
            "message_delta",
            delta={"stop_reason": stop_reason, "stop_sequence": None},
            usage={"output_tokens": sum(len(b.deltas) for b in blocks)},
        )
    )
    events.append(_event("message_stop"))
    return ScriptedStream(tuple(events), delay=delay)


def _event(type: str, **fields: Any) -> SseEvent:
    return type, {"type": type, **fields}


def text_turn(
    text: str,
    *,
    chunks: int = 1,
    thinking: str | None = None,
    stop_reason: str = "end_turn",
    delay: float = 0.0,
) -> ScriptedStream:
    """A plain answer in `chunks` text deltas, optionally after thinking (as many deltas)."""
    blocks = [thinking_block(thinking, chunks=chunks)] if thinking else []
    blocks.append(text_block(text, chunks=chunks))
    return reply(*blocks, stop_reason=stop_reason, delay=delay)


def tool_turn(
    name: str,
    input: dict[str, Any],
    *,
    chunks: int = 3,
    text: str | None = None,
    thinking: str | None = None,
    id: str | None = None,
    delay: float = 0.0,
) -> ScriptedStream:
    """A turn that ends with one tool call (stop reason "tool_use"), optionally after
    thinking and some text."""
    blocks = [thinking_block(thinking)] if thinking else []
    blocks += [text_block(text)] if text else []
    blocks.append(tool_use_block(name, input, chunks=chunks, id=id))
    return reply(*blocks, delay=delay)


def _through_delta(events: tuple[SseEvent, ...], deltas: int) -> tuple[SseEvent, ...]:
    kept: list[SseEvent] = []
    seen = 0
    for name, data in events:
        if seen == deltas and name not in _PREAMBLE:
            return tuple(kept)
        kept.append((name, data))
        seen += name == "content_block_delta"
    raise ValueError(f"the scripted reply has only {seen} content deltas, not {deltas}")


# ---------------------------------------------------------------- recorded requests


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any
    api_key: str | None
    request_id: str
    completed: bool = False
    disconnected_at: float | None = None
    _disconnected: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait_disconnected(self, timeout: float) -> bool:
        """True once the client hung up before the scripted response was fully sent."""
        return self._disconnected.wait(timeout)

    def _mark_disconnected(self) -> None:
        self.disconnected_at = time.monotonic()
        self._disconnected.set()


def _api_key(headers: Mapping[str, str]) -> str | None:
    if "x-api-key" in headers:
        return headers["x-api-key"]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


# ---------------------------------------------------------------- the server


class _ClientLeft(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as the SDK expects
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the recorded requests instead

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = owner._record(urlsplit(self.path).path, headers, json.loads(raw) if raw else None)
        if record.path != "/v1/messages":
            message = f"the test server only serves /v1/messages, not {record.path}"
            self._send_error(record, error(404, message=message))
            return
        response = owner._next_response(record)
        if isinstance(response, ScriptedError):
            self._send_error(record, response)
        else:
            self._send_stream(record, response)

    def _send_error(self, record: RecordedRequest, scripted: ScriptedError) -> None:
        data = json.dumps(
            {
                "type": "error",
                "error": {"type": scripted.type, "message": scripted.message},
                "request_id": record.request_id,
            }
        ).encode()
        self.send_response(scripted.status, scripted.type)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", record.request_id)
        for name, value in scripted.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        record.completed = True

    def _send_stream(self, record: RecordedRequest, scripted: ScriptedStream) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", record.request_id)
        self.end_headers()
        model = record.body.get("model", "") if isinstance(record.body, dict) else ""
        try:
            for name, data in scripted.events:
                self._wait_unless_client_left(scripted.delay)
                if name == "message_start":
                    data = {**data, "message": {**data["message"], "model": model}}
                self._write_chunk(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            if scripted.hang_up:
                # Closing without the final empty chunk: the client sees an incomplete body.
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self._write_chunk(b"")
            record.completed = True
        except _ClientLeft:
            record._mark_disconnected()
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _ClientLeft from exc

    def _wait_unless_client_left(self, seconds: float) -> None:
        """Sleeps `seconds`, waking at once if the client closes the connection: a client
        waiting for its response sends nothing, so readable means end of file."""
        readable, _, _ = select.select([self.connection], [], [], seconds)
        if not readable:
            return
        try:
            if self.connection.recv(1, socket.MSG_PEEK) == b"":
                raise _ClientLeft
        except ConnectionResetError as exc:
            raise _ClientLeft from exc


class _HttpServer(ThreadingHTTPServer):
    # Its handler threads are daemon threads: one sleeping in a slow script does not
    # hold up close().

    def __init__(self, owner: AnthropicTestServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner


class AnthropicTestServer:
    """See the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[ScriptedResponse] = deque()
        self._requests: list[RecordedRequest] = []
        self._arrived = threading.Condition(self._lock)
        self._http = _HttpServer(self)
        # A short poll interval so that close() returns at once.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def script(self, *responses: ScriptedResponse) -> None:
        """Queues responses; each request to /v1/messages takes the next one."""
        with self._lock:
            self._script.extend(responses)

    def wait_for_requests(self, count: int, timeout: float) -> list[RecordedRequest]:
        """Blocks until `count` requests arrived; raises TimeoutError naming how many did."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"expected {count} requests, got {len(self._requests)} in {timeout} s")
            return list(self._requests)

    def start(self) -> AnthropicTestServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def __enter__(self) -> AnthropicTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _record(self, path: str, headers: dict[str, str], body: Any) -> RecordedRequest:
        with self._arrived:
            request_id = f"req_test_{len(self._requests) + 1:04d}"
            record = RecordedRequest(path, headers, body, _api_key(headers), request_id)
            self._requests.append(record)
            self._arrived.notify_all()
            return record

    def _next_response(self, record: RecordedRequest) -> ScriptedResponse:
        with self._lock:
            if self._script:
                return self._script.popleft()
        return error(400, message=f"the test server has no scripted response left for {record.request_id}")


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicTestServer]:
    with AnthropicTestServer() as server:
        yield server
