"""The AI agent: a headless peer that answers queued runs (run protocol, tools, providers)."""
