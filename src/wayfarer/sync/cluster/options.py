"""`ClusterOptions`: the durable store and compaction settings of a relay or worker of a cluster."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterOptions:
    """How a cluster keeps trips beyond Redis, and when it compacts them.

    The stream of a trip under steady writing stays around `compact_after_entries` plus
    what is written during `trim_grace_seconds`.
    """

    # `sqlite:FOLDER` or `postgresql://…`; None: the relay's own rooms folder (one machine).
    store: str | None = None
    # A trip's stream this long (entries) is compacted into the store.
    compact_after_entries: int = 1000
    # Entries stay in the stream this long after they were added, for relays a little behind.
    trim_grace_seconds: float = 60.0
    # Compaction workers in each relay process (0: leave it to `--role worker` processes);
    # None: one when `store` is given, none otherwise (see `relay_workers`).
    compaction_workers: int | None = None
    # A task a worker claimed and did not finish in this long is taken over by another.
    reclaim_after_seconds: float = 30.0
    # A worker's consumer in the task group idle this long, holding no task, is removed
    # (every restart of a relay or worker leaves one behind).
    forget_consumers_after_seconds: float = 3600.0

    @property
    def relay_workers(self) -> int:
        """Compaction workers a relay runs.

        None unless asked for while `store` is the default: that is each relay's own
        folder, and relays on several machines each compacting into their own would
        scatter a trip's history (they would then refuse to load it, see `store`).
        """
        if self.compaction_workers is not None:
            return self.compaction_workers
        return 1 if self.store is not None else 0
