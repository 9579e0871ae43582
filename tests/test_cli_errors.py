"""`wayfarer chat`, `agent` and `relay`: bad input gives one readable line and a non-zero exit."""

from __future__ import annotations

import json

import anyio
import pytest

from relay_process import RelayProcess
from wayfarer.cli import main
from wayfarer.sync.remote import create_remote_trip
from wayfarer.sync.tokens import make_token


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_chat_refuses_something_that_is_not_a_link(capsys) -> None:
    code, out, err = run(capsys, "chat", "not-a-link", "hello")
    assert code == 1 and out == ""
    assert err.startswith("wayfarer chat: not a trip link") and "Traceback" not in err


def test_chat_refuses_a_link_with_a_mangled_token(capsys) -> None:
    code, _, err = run(capsys, "chat", "ws://127.0.0.1:9/trip1?token=x", "hello")
    assert code == 1 and "token is unreadable" in err


def test_chat_with_an_unreachable_relay_gives_up_readably(capsys) -> None:
    link = f"ws://127.0.0.1:9/trip1?token={make_token('k', 'trip1', 'editor')}"
    code, _, err = run(capsys, "chat", link, "hello", "--timeout", "1")
    assert code == 1 and "wayfarer chat:" in err and "Traceback" not in err


def test_chat_on_a_viewer_link_posts_nothing(relay: RelayProcess, capsys) -> None:
    created = anyio.run(lambda: create_remote_trip(relay.url, relay.key, "Read only"))
    code, _, err = run(capsys, "chat", created["viewer_link"], "can I post?")
    assert code == 1 and "viewer link" in err
    code, out, _ = run(capsys, "trip", "show", created["link"], "--json")
    assert code == 0 and json.loads(out)["chat"] == []


def test_agent_refuses_a_bad_trip_id_and_a_missing_api_key(capsys, monkeypatch) -> None:
    code, _, err = run(capsys, "agent", "--relay", "ws://127.0.0.1:9", "--key", "k", "--trip", "no/slashes")
    assert code == 2 and "not a trip id: no/slashes" in err
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code, _, err = run(capsys, "agent", "--relay", "ws://127.0.0.1:9", "--key", "k", "--model", "anthropic")
    assert code == 2 and "ANTHROPIC_API_KEY" in err


def test_relay_says_which_data_folder_it_cannot_use(capsys, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "relay", "--port", "0", "--data", str(blocker / "relay"))
    assert code == 1 and str(blocker) in err and "Traceback" not in err
