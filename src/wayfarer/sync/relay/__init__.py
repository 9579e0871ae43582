"""The relay: stores and relays each trip's document between its peers, and checks who they are.

One module per concern, each wrapping (never forking) pycrdt-websocket 0.16.5:
`config` (RelayConfig), `auth` (token gate), `app` (ASGI app), `peer` (one connection
with a bounded send queue), `frames` (strict parsing), `access` (viewers), `limits`
(document size), `acks` (durable acknowledgements), `presence` (awareness), `storage`
(the room's update log writer), `room` (a trip's room), `server` (loading and unloading
rooms) and `relay` (the running relay).
"""

from wayfarer.sync.relay.acks import CLOSE_STORE_FAILED
from wayfarer.sync.relay.config import Fix, RelayConfig
from wayfarer.sync.relay.relay import Relay

__all__ = ["CLOSE_STORE_FAILED", "Fix", "Relay", "RelayConfig"]
