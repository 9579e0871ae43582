"""`RelayConfig`: everything a relay needs to start, with the defaults a person would pick."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

MiB: Final = 1024 * 1024


class Fix(StrEnum):
    """The relay's fixes for pycrdt-websocket 0.16.5 traps (see NOTES.md), by name.

    Naming one in `RelayConfig.stock` (or in the `WAYFARER_RELAY_STOCK` environment
    variable of `wayfarer relay`, comma-separated) puts the library's own behaviour back.
    That exists only so the regression tests can be shown to fail against the library as
    shipped; never set it in real use.
    """

    ROOM_LOADING = "room-loading"  # rooms loaded from the store once; no start race
    CONNECTION = "connection"  # bounded send queue per peer; sends to gone peers dropped
    PRESENCE = "presence"  # awareness bound to its connection; snapshot on join; removal on leave
    DURABLE_ACK = "durable-ack"  # ACK_REPLY only once every earlier update is on disk


@dataclass(frozen=True)
class RelayConfig:
    """How a relay listens, where it keeps trips, and the limits it enforces."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    # Signs trip tokens; None: `data_dir/relay.key`, created on first start.
    key: str | None = None
    # A websocket message larger than this closes that connection (CLOSE_TOO_BIG).
    max_message_bytes: int = 8 * MiB
    # An edit that would grow a trip past this closes that connection (CLOSE_DOC_TOO_BIG).
    max_document_bytes: int = 64 * MiB
    # Bytes waiting to be sent to one peer; past this the peer is closed (CLOSE_TRY_AGAIN).
    send_queue_bytes: int = 4 * MiB
    # A room with nobody connected for this long is written out and dropped from memory.
    idle_room_seconds: float = 60.0
    # A presence entry not renewed for this long is removed for everyone.
    awareness_timeout_seconds: float = 30.0
    # The room's update log is merged into one row once it has this many rows.
    compact_after_rows: int = 500
    # Per-message deflate costs ~120 KB of server memory per connection (NOTES.md) to
    # halve bytes on the wire. Trip documents are small and peers mostly sit idle on a
    # LAN or loopback, so memory per peer matters more than bandwidth: off by default.
    per_message_deflate: bool = False
    # On shutdown, how long connections get to close before their tasks are cancelled.
    shutdown_grace_seconds: float = 5.0
    stock: frozenset[Fix] = field(default_factory=frozenset)

    @property
    def rooms_dir(self) -> Path:
        return self.data_dir / "rooms"

    def uses_fix(self, fix: Fix) -> bool:
        return fix not in self.stock
