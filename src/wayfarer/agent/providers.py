"""Choosing the model provider: Anthropic when a key is configured, the offline planner
otherwise (or when asked for)."""

from __future__ import annotations

import os
from typing import Literal

from .provider import Provider

ProviderName = Literal["auto", "offline", "anthropic"]
DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-6"


class ProviderUnavailable(Exception):
    """The requested provider cannot run here (e.g. no API key); the message says how to fix it."""


def make_provider(
    name: ProviderName = "auto",
    *,
    api_key: str | None = None,
    model: str = DEFAULT_ANTHROPIC_MODEL,
    base_url: str | None = None,
) -> Provider:
    key = api_key or os.environ.get("ANTHROPIC_API_KEY", "")
    if name == "offline" or (name == "auto" and not key):
        from .offline import OfflinePlanner

        return OfflinePlanner()
    if not key:
        raise ProviderUnavailable(
            "the Anthropic provider needs an API key: set ANTHROPIC_API_KEY or enter it in Settings"
        )
    from .anthropic_provider import AnthropicProvider

    return AnthropicProvider(key, model, base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL") or None)
