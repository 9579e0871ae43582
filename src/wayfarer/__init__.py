"""Wayfarer: a local-first, collaborative desktop trip planner with an AI agent."""

__version__ = "0.1.0"
