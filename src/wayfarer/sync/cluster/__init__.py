"""Many relays, one trip: the relay's rooms shared through Redis streams (issue 9).

The design y-redis proved: one Redis stream per trip is the trip's ordered log. A relay
appends its peers' edits to the stream and acknowledges them only once Redis has them
(`appender`, `edits`, `acks`); one reader task per relay applies every stream entry,
its own included, to the room's document, which broadcasts it to that relay's peers
(`reader`, `room`); a room is loaded from stream then store (`loading`, `server`).
`redis_log` holds the stream format and the check that Redis is safe to keep trips in;
`relay` is the running relay.

Durable store and compaction: `store` (the `TripStore` interface, `--store`), with
`store_sqlite` (one machine) and `store_postgres` (many); compaction workers claim
tasks from a Redis consumer group (`compaction_tasks`, `worker`), merge a trip's stream
into its store and trim the stream (`compaction`); `options` holds their settings.

Presence and faults: presence (awareness) crosses relays over Redis pub/sub, with each
trip's current states kept beside it for rooms that load later (`presence_bus`), merged
into each room's awareness with the single relay's hardening held across relays
(`presence`, `liveness`); a stream entry that is not a Yjs update is skipped and kept
aside by every relay alike (`poison`).
"""

from wayfarer.sync.cluster.redis_log import ClusterError
from wayfarer.sync.cluster.relay import ClusterRelay

__all__ = ["ClusterError", "ClusterRelay"]
