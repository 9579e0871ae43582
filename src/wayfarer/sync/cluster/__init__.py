"""Many relays, one trip: the relay's rooms shared through Redis streams (issue 9).

The design y-redis proved: one Redis stream per trip is the trip's ordered log. A relay
appends its peers' edits to the stream and acknowledges them only once Redis has them
(`appender`, `edits`, `acks`); one reader task per relay applies every stream entry,
its own included, to the room's document, which broadcasts it to that relay's peers
(`reader`, `room`); a room is loaded from stream then store (`server`). `redis_log`
holds the stream format and the check that Redis is safe to keep trips in; `relay` is
the running relay.
"""

from wayfarer.sync.cluster.redis_log import ClusterError
from wayfarer.sync.cluster.relay import ClusterRelay

__all__ = ["ClusterError", "ClusterRelay"]
