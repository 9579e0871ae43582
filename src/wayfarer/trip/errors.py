"""Errors raised by trip operations. Each names the field or record it is about."""

from __future__ import annotations


class TripError(Exception):
    """Base class: an operation on a trip was refused and the document is unchanged."""


class InvalidValue(TripError, ValueError):
    """A value given for a field is not acceptable."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(TripError, LookupError):
    """A day, stop, message, run or tool call that the operation refers to does not exist."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"unknown {kind} {ident!r}")
        self.kind = kind
        self.ident = ident


class NotATrip(TripError):
    """The document holds no trip (no `meta.schema`), or one of a newer schema version."""
